import { TrackMate } from '@trackmate/node';

const globalForTrackMate = globalThis as unknown as { trackmate?: TrackMate };

/**
 * One @trackmate/node client per server process (kept on globalThis so that dev-mode reloads do not make a new
 * one per edit). The secret key stays on the server: it is read from TRACKMATE_SECRET_KEY, never sent to pages.
 */
export function trackmate(): TrackMate {
  if (!globalForTrackMate.trackmate) {
    const secretKey = process.env.TRACKMATE_SECRET_KEY;
    if (!secretKey) throw new Error('Set TRACKMATE_SECRET_KEY to the site’s sk_… key');
    const client = new TrackMate({
      secretKey,
      host: process.env.TRACKMATE_HOST ?? 'http://127.0.0.1:8080',
      flushInterval: 1000,
    });
    client.on('drop', ({ reason, events }) => {
      // orders matter: a real shop stores these and sends them again later
      console.error(`trackmate: ${events.length} event(s) not delivered (${reason})`, JSON.stringify(events));
    });
    globalForTrackMate.trackmate = client;
  }
  return globalForTrackMate.trackmate;
}
