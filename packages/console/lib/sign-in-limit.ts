/**
 * Failed sign-ins per visitor address, in this console process: past the limit the console refuses before it
 * asks the collector, so one visitor guessing keys neither costs the collector lookups nor (with
 * TRACKMATE_CONSOLE_SECRET) anyone else a sign-in. TRACKMATE_CONSOLE_SIGNIN_LIMIT failures per 15 minutes
 * (default 10; 0 = off).
 */
const WINDOW_MS = 15 * 60_000;
const MAX_ADDRESSES = 10_000;
const failures = new Map<string, { count: number; resetAt: number }>();

const limit = () => {
  const n = Number(process.env.TRACKMATE_CONSOLE_SIGNIN_LIMIT ?? '10');
  return Number.isInteger(n) && n >= 0 ? n : 10;
};

/** Minutes until this address may try again, or 0 when it may now. */
export function signInBlockedFor(ip: string, now = Date.now()): number {
  const entry = failures.get(ip);
  const max = limit();
  if (!max || !entry || entry.resetAt <= now || entry.count < max) return 0;
  return Math.max(1, Math.ceil((entry.resetAt - now) / 60_000));
}

export function recordFailedSignIn(ip: string, now = Date.now()): void {
  const entry = failures.get(ip);
  if (entry && entry.resetAt > now) {
    entry.count++;
    return;
  }
  if (failures.size >= MAX_ADDRESSES) {
    for (const [k, v] of failures) if (v.resetAt <= now) failures.delete(k);
    if (failures.size >= MAX_ADDRESSES) failures.delete(failures.keys().next().value as string);
  }
  failures.set(ip, { count: 1, resetAt: now + WINDOW_MS });
}
