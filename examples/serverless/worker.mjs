// A Cloudflare Worker (Deno Deploy and Vercel edge functions alike): keys come from the environment binding;
// ctx.waitUntil lets the answer go out while the flush finishes. No node: module is needed.
import { TrackMate } from '@trackmate/node';

let trackmate;

export default {
  async fetch(request, env, ctx) {
    trackmate ??= new TrackMate({ secretKey: env.TRACKMATE_SECRET_KEY, host: env.TRACKMATE_HOST });
    const url = new URL(request.url);
    trackmate.track('api_call', { path: url.pathname }, { userId: request.headers.get('x-user-id') ?? 'anonymous' });
    ctx.waitUntil(trackmate.flush());
    return new Response('ok');
  },
};
