// A Next.js server action (a 'use server' module in a Next.js app): a plain async function on the server.
import { TrackMate } from '@trackmate/node';

const trackmate = new TrackMate({ secretKey: process.env.TRACKMATE_SECRET_KEY, host: process.env.TRACKMATE_HOST });

export async function placeOrder(order) {
  trackmate.orderPlaced(order);
  await trackmate.flush();
  return { ok: true };
}
