import type { Redis } from 'ioredis';
import type { NewEventDoc } from '../models/index.js';
import { currencyOf, revenueOf } from '../rollups/index.js';
import type { MailSource } from './tracked-links.js';

/**
 * What each campaign and flow e-mail achieved, kept in Redis as it happens (so reading it costs a few commands,
 * however many people were sent it): per source (a broadcast, or a flow's e-mail step) a hash of counters —
 * `sent` and `failed` (flows; a broadcast's are its progress counters), `clicks`, `suspectClicks`, `orders` and
 * `revenue:<currency>` — a set of the people who clicked, and a hash of the orders credited (order → revenue),
 * which makes crediting an order idempotent. A person's last counted click is kept for the attribution window:
 * a server order placed within it after the click is credited to that click's source (last click wins).
 */
export const ATTRIBUTION_WINDOW_MS = 5 * 86_400_000;
/** An order's own time may run this much behind the collector's clock (the shop's server sets it). */
const CLOCK_SLACK_MS = 60_000;

const tag = (s: Pick<MailSource, 'kind' | 'id'>) => `${s.kind}:${s.id}`;
export const resultsKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) => `${prefix}:email-results:${tag(s)}`;
const clickersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) => `${prefix}:email-clickers:${tag(s)}`;
const ordersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) => `${prefix}:email-orders:${tag(s)}`;
const lastClickKey = (prefix: string, siteId: string, profileId: string) =>
  `${prefix}:email-last-click:${siteId}:${profileId}`;

type ResultsRedis = Pick<Redis, 'pipeline' | 'hincrby' | 'mget' | 'eval' | 'hgetall' | 'scard'>;

/** A flow e-mail's outcome (a broadcast counts its own): the flow's, and its step's (`step:<n>:sent`, from 1). */
export async function noteFlowSend(
  redis: Pick<Redis, 'hincrby'>,
  prefix: string,
  triggerId: string,
  ok: boolean,
  step = 0,
) {
  const key = resultsKey(prefix, { kind: 'flow', id: triggerId });
  await redis.hincrby(key, ok ? 'sent' : 'failed', 1);
  await redis.hincrby(key, `step:${step + 1}:${ok ? 'sent' : 'failed'}`, 1);
}

/**
 * A click on a tracked link: counted, and — when it is a person's (`suspect` null) — remembered as the person's
 * last click for the attribution window.
 */
export async function noteClick(
  redis: ResultsRedis,
  prefix: string,
  click: { siteId: string; profileId: string; source: MailSource; suspect: string | null; at: number },
) {
  const pipe = redis.pipeline();
  if (click.suspect) pipe.hincrby(resultsKey(prefix, click.source), 'suspectClicks', 1);
  else {
    pipe.hincrby(resultsKey(prefix, click.source), 'clicks', 1);
    pipe.sadd(clickersKey(prefix, click.source), click.profileId);
    pipe.set(
      lastClickKey(prefix, click.siteId, click.profileId),
      `${tag(click.source)}:${click.at}`,
      'PX',
      ATTRIBUTION_WINDOW_MS,
    );
  }
  const answers = (await pipe.exec()) ?? [];
  const failed = answers.find(([err]) => err);
  if (failed) throw failed[0];
}

const CREDIT = `
if redis.call('hsetnx', KEYS[2], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('hincrby', KEYS[1], 'orders', 1)
redis.call('hincrbyfloat', KEYS[1], 'revenue:' .. ARGV[2], ARGV[3])
return 1`;

/**
 * The ingest worker's part: each server order of a profile placed within the window after the person's last
 * counted click is credited to that click's campaign or flow, once (a retried job credits nothing again).
 */
export async function creditOrders(redis: ResultsRedis, prefix: string, events: NewEventDoc[]): Promise<number> {
  const orders = events.filter((e) => e.name === 'order_placed' && e.sentBy === 'server' && e.profileId);
  if (!orders.length) return 0;
  const clicks = await redis.mget(
    orders.map((o) => lastClickKey(prefix, o.siteId.toHexString(), o.profileId!.toHexString())),
  );
  let credited = 0;
  for (const [i, o] of orders.entries()) {
    const click = clicks[i]?.split(':');
    if (click?.length !== 3) continue;
    const [kind, id, at] = click as [MailSource['kind'], string, string];
    const placed = new Date(o.timestamp).getTime();
    if (placed < Number(at) - CLOCK_SLACK_MS || placed > Number(at) + ATTRIBUTION_WINDOW_MS) continue;
    const source = { kind, id };
    const properties = o.properties ?? {};
    credited += (await redis.eval(
      CREDIT,
      2,
      resultsKey(prefix, source),
      ordersKey(prefix, source),
      `${o.siteId.toHexString()}:${o.messageId}`,
      currencyOf(properties) ?? '(none)',
      String(revenueOf(properties)),
    )) as number;
  }
  return credited;
}

export interface EmailResults {
  /** A flow's e-mail steps (numbered from 1): what each sent and failed. */
  steps?: Array<{ step: number; sent: number; failed: number }>;
  sent: number;
  failed: number;
  clicks: number;
  clickers: number;
  suspectClicks: number;
  orders: number;
  revenueByCurrency: Record<string, number>;
}

/** A campaign's or flow's results; `sent`/`failed` from `counts` when the caller keeps them (a broadcast). */
export async function readResults(
  redis: ResultsRedis,
  prefix: string,
  source: Pick<MailSource, 'kind' | 'id'>,
  counts?: { sent: number; failed: number },
): Promise<EmailResults> {
  const [hash, clickers] = await Promise.all([
    redis.hgetall(resultsKey(prefix, source)),
    redis.scard(clickersKey(prefix, source)),
  ]);
  const n = (k: string) => Number(hash[k] ?? 0);
  const revenueByCurrency: Record<string, number> = {};
  for (const [k, v] of Object.entries(hash)) {
    if (k.startsWith('revenue:')) revenueByCurrency[k.slice('revenue:'.length)] = Math.round(Number(v) * 100) / 100;
  }
  const steps = new Map<number, { step: number; sent: number; failed: number }>();
  for (const [k, v] of Object.entries(hash)) {
    const m = /^step:(\d+):(sent|failed)$/.exec(k);
    if (!m) continue;
    const s = steps.get(Number(m[1])) ?? { step: Number(m[1]), sent: 0, failed: 0 };
    s[m[2] as 'sent' | 'failed'] = Number(v);
    steps.set(s.step, s);
  }
  return {
    ...(source.kind === 'flow' ? { steps: [...steps.values()].sort((a, b) => a.step - b.step) } : {}),
    sent: counts?.sent ?? n('sent'),
    failed: counts?.failed ?? n('failed'),
    clicks: n('clicks'),
    clickers,
    suspectClicks: n('suspectClicks'),
    orders: n('orders'),
    revenueByCurrency,
  };
}

/** Drops a deleted campaign's or flow's results. */
export const dropResults = (redis: Pick<Redis, 'del'>, prefix: string, source: Pick<MailSource, 'kind' | 'id'>) =>
  redis.del(resultsKey(prefix, source), clickersKey(prefix, source), ordersKey(prefix, source));
