import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';

/** Why a confirmation e-mail was not sent (the `reason` label of /metrics' refusal counter). */
export type ConfirmRefusal = 'cooldown' | 'daily_cap';

/**
 * Mail-bomb limits of double opt-in, kept in Redis so every worker shares them. Anyone holding the public write
 * key can ask for a confirmation to any address, so besides one pending job per address and site (the job id),
 * an address gets at most one e-mail per site per cooldown and `confirmDailyCap` a day over all sites. The
 * address is hashed in the key (no personal data in Redis keys). Refusals are counted in a Redis hash that
 * /metrics reads, so the count covers every worker process.
 *
 * KEYS: cooldown key, day counter, refusal counts. ARGV: cooldown ms, daily cap.
 * Answers 'ok', 'cooldown' or 'daily_cap'; only an 'ok' starts a cooldown and counts towards the cap.
 */
const SCRIPT = `
if tonumber(ARGV[1]) > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'cooldown', 1)
  return 'cooldown'
end
local sent = tonumber(redis.call('GET', KEYS[2]) or '0')
if sent >= tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[3], 'daily_cap', 1)
  return 'daily_cap'
end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 172800)
if tonumber(ARGV[1]) > 0 then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 'ok'
`;

export const confirmRefusalsKey = (prefix: string) => `${prefix}:confirm:refused`;

/** Takes one confirmation e-mail for this address and site from the allowances, or says why not. */
export async function takeConfirmAllowance(
  redis: Pick<Redis, 'eval'>,
  config: Pick<Config, 'queuePrefix' | 'confirmCooldownMs' | 'confirmDailyCap'>,
  siteId: string,
  email: string,
  now = new Date(),
): Promise<'ok' | ConfirmRefusal> {
  const address = createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 32);
  const day = now.toISOString().slice(0, 10);
  const p = config.queuePrefix;
  const answer = await redis.eval(
    SCRIPT,
    3,
    `${p}:confirm:cool:${siteId}:${address}`,
    `${p}:confirm:day:${day}:${address}`,
    confirmRefusalsKey(p),
    String(config.confirmCooldownMs),
    String(config.confirmDailyCap),
  );
  return answer as 'ok' | ConfirmRefusal;
}

/** Refusals so far, by reason (for /metrics). */
export async function confirmRefusals(redis: Pick<Redis, 'hgetall'>, prefix: string): Promise<Record<string, number>> {
  const raw = await redis.hgetall(confirmRefusalsKey(prefix));
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
}
