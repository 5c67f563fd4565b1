import type { Redis } from 'ioredis';
import { TrackMateError } from '../errors.js';

const WINDOW_MS = 60_000;

// Fixed one-minute windows for up to two counters in one round trip; returns the counts.
const SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  out[i] = n
end
return out`;

export interface RateLimits {
  perKey: number;
  perIp: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets, for Retry-After. */
  retryAfter: number;
  limit?: 'key' | 'ip';
}

/**
 * Per write key and per client IP request limits, counted in Redis so every collector process shares them.
 * When Redis does not answer the check lets the request through: the enqueue that follows answers 503 anyway.
 */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: RateLimits,
  ) {
    redis.defineCommand('tmRateLimit', { lua: SCRIPT });
  }

  get enabled(): boolean {
    return this.limits.perKey > 0 || this.limits.perIp > 0;
  }

  async check(key: string, ip: string, now = Date.now()): Promise<RateDecision> {
    const window = Math.floor(now / WINDOW_MS);
    const retryAfter = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    const keys: string[] = [];
    if (this.limits.perKey > 0) keys.push(`${this.prefix}:rl:key:${key}:${window}`);
    if (this.limits.perIp > 0) keys.push(`${this.prefix}:rl:ip:${ip}:${window}`);
    if (!keys.length) return { allowed: true, retryAfter };
    let counts: number[];
    try {
      // biome-ignore lint/suspicious/noExplicitAny: command defined at runtime with defineCommand
      counts = await (this.redis as any).tmRateLimit(keys.length, ...keys, WINDOW_MS + 1_000);
    } catch {
      return { allowed: true, retryAfter };
    }
    let i = 0;
    if (this.limits.perKey > 0 && counts[i++]! > this.limits.perKey) return { allowed: false, retryAfter, limit: 'key' };
    if (this.limits.perIp > 0 && counts[i]! > this.limits.perIp) return { allowed: false, retryAfter, limit: 'ip' };
    return { allowed: true, retryAfter };
  }

  /** Throws 429 with Retry-After when a limit is reached; `subject` names it in the message. */
  async enforce(key: string, ip: string, subject?: string): Promise<void> {
    if (!this.enabled) return;
    const decision = await this.check(key, ip);
    if (decision.allowed) return;
    const what = subject ?? `per ${decision.limit === 'key' ? 'write key' : 'client IP'}`;
    throw new TrackMateError('TM_ERR_RATE_LIMITED', {
      retryAfter: decision.retryAfter,
      message: `Rate limit ${what} reached; retry after ${decision.retryAfter} s`,
    });
  }
}
