// A Next.js route handler (app/api/signup/route.ts in a Next.js app), on the Node or the edge runtime alike:
// it uses only web APIs. `export const runtime = 'edge'` in a real route file selects the edge runtime.
import { TrackMate } from '@trackmate/node';

const trackmate = new TrackMate({ secretKey: process.env.TRACKMATE_SECRET_KEY, host: process.env.TRACKMATE_HOST });

export async function POST(request) {
  const { userId, email, plan } = await request.json();
  trackmate.identify({ userId, email });
  trackmate.track('signup', { plan }, { userId });
  await trackmate.flush();
  return Response.json({ ok: true });
}
