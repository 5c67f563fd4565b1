// AWS Lambda (Node.js runtime, API Gateway proxy event). The client lives outside the handler, so a warm
// instance reuses it; each invocation awaits flush() before it returns, because Lambda freezes the process
// as soon as the handler has answered. Never close() here: the next invocation would find a closed client.
import { TrackMate } from '@trackmate/node';

const trackmate = new TrackMate({ secretKey: process.env.TRACKMATE_SECRET_KEY, host: process.env.TRACKMATE_HOST });

export async function handler(event) {
  const order = JSON.parse(event.body ?? '{}');
  trackmate.orderPlaced(order);
  await trackmate.flush();
  return { statusCode: 200, body: JSON.stringify({ ok: true, orderId: order.orderId }) };
}
