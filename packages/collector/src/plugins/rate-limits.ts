import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import { TrackMateError } from '../errors.js';

/**
 * A token bucket in Redis (GCRA: one key per limit holding the bucket's "theoretical arrival time"), so every
 * collector process shares it and no window edge lets twice the limit through. `max` requests fill the bucket;
 * it refills evenly over `timeWindow`. Redis's own clock is used, so processes on skewed hosts agree.
 * Returns {current, ttl} as @fastify/rate-limit expects: current > max means refused, and ttl is then the wait
 * until one request is allowed again.
 */
const GCRA_STATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local interval = window / max
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nextTat = tat + interval
if nextTat - now > window then
  return {max + 1, math.max(1, math.ceil(nextTat - now - window))}
end`;

const GCRA = `${GCRA_STATE}
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.ceil(nextTat - now) + 1)
return {math.ceil((nextTat - now) / interval - 0.000001), math.ceil(nextTat - now)}`;

/** The same bucket read without taking a token: would one more request be allowed? */
const GCRA_READ = `${GCRA_STATE}
return {math.ceil((tat - now) / interval - 0.000001), math.ceil(tat - now)}`;

interface StoreResult {
  current: number;
  ttl: number;
}

/** The store class @fastify/rate-limit instantiates; Redis is read when the first request comes. */
export function tokenBucketStore(redis: () => Redis) {
  return class TokenBucketStore {
    incr(key: string, callback: (err: Error | null, result?: StoreResult) => void, timeWindow: number, max: number) {
      const client = redis();
      if (!client.tmTokenBucket) client.defineCommand('tmTokenBucket', { numberOfKeys: 1, lua: GCRA });
      client.tmTokenBucket(key, timeWindow, max).then(
        ([current, ttl]) => callback(null, { current, ttl }),
        (err: Error) => callback(err),
      );
    }

    read(key: string, callback: (err: Error | null, result?: StoreResult) => void, timeWindow: number, max: number) {
      const client = redis();
      if (!client.tmTokenBucketRead) client.defineCommand('tmTokenBucketRead', { numberOfKeys: 1, lua: GCRA_READ });
      client.tmTokenBucketRead(key, timeWindow, max).then(
        ([current, ttl]) => callback(null, { current, ttl }),
        (err: Error) => callback(err),
      );
    }

    child() {
      return this; // every limit names its own keys (see limit below)
    }
  };
}

declare module 'ioredis' {
  interface RedisCommander {
    tmTokenBucket(key: string, windowMs: number, max: number): Promise<[number, number]>;
    tmTokenBucketRead(key: string, windowMs: number, max: number): Promise<[number, number]>;
  }
}

/** Options of the @fastify/rate-limit registration: limits are attached per route with `limit` below. */
export function rateLimitOptions(app: FastifyInstance): RateLimitPluginOptions {
  return {
    global: false,
    store: tokenBucketStore(() => app.redis),
    // Redis away: let the request through; the enqueue that follows answers 503 anyway.
    skipOnError: true,
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
  };
}

/**
 * A per-minute limit as a hook: `key` names the bucket (null = not limited), `what` names the limit in the 429
 * message. `perMinute` 0 disables it (no hook at all).
 */
export function limit(
  app: FastifyInstance,
  perMinute: number,
  what: string,
  key: (request: FastifyRequest) => string | null,
): preHandlerAsyncHookHandler[] {
  if (perMinute <= 0) return [];
  const prefix = `${app.config.queuePrefix}:rl:`;
  const handler = app.rateLimit({
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `${prefix}${key(request)}`,
    allowList: (request) => key(request) === null,
    errorResponseBuilder: (_request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return new TrackMateError('TM_ERR_RATE_LIMITED', {
        retryAfter,
        message: `Rate limit ${what} reached; retry after ${retryAfter} s`,
      });
    },
  });
  return [handler as preHandlerAsyncHookHandler];
}
