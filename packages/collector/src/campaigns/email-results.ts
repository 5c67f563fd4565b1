import type { Redis } from 'ioredis';
import type { NewEventDoc } from '../models/index.js';
import { currencyOf, revenueOf } from '../rollups/index.js';
import { MAX_STEP, type MailSource } from './tracked-links.js';

/**
 * What each campaign and flow e-mail achieved, kept in Redis as it happens (so reading it costs a few commands,
 * however many people were sent it): per source (a broadcast, or a flow's e-mail step) a hash of counters —
 * `sent` and `failed` (flows; a broadcast's are its progress counters), `clicks`, `suspectClicks`, `opens`,
 * `suspectOpens`, `orders` and `revenue:<currency>` — a set of the people who clicked, one of those who opened, and a hash of the orders credited (order → revenue),
 * which makes crediting an order idempotent, and a set of the people who unsubscribed through its link
 * (`unsubscribed`). A person's last counted click is kept for the attribution window:
 * a server order placed within it after the click is credited to that click's source (last click wins).
 */
export const ATTRIBUTION_WINDOW_MS = 5 * 86_400_000;
/** An order's own time may run this much behind the collector's clock (the shop's server sets it). */
const CLOCK_SLACK_MS = 60_000;

const tag = (s: Pick<MailSource, 'kind' | 'id'>) => `${s.kind}:${s.id}`;
export const resultsKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) => `${prefix}:email-results:${tag(s)}`;
const clickersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) => `${prefix}:email-clickers:${tag(s)}`;
const ordersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) => `${prefix}:email-orders:${tag(s)}`;
/** The people who opened the source's e-mails (the open pixel, when the site tracks opens). */
const openersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) => `${prefix}:email-openers:${tag(s)}`;
/** The people who opened a flow step's e-mail. */
const stepOpenersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>, step: number) =>
  `${openersKey(prefix, s)}:step:${step}`;
/** The people who unsubscribed through the source's e-mails (each counted once per source). */
const unsubscribersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>) =>
  `${prefix}:email-unsubscribers:${tag(s)}`;
/** The people who clicked a flow step's e-mail. */
const stepClickersKey = (prefix: string, s: Pick<MailSource, 'kind' | 'id'>, step: number) =>
  `${clickersKey(prefix, s)}:step:${step}`;
/** A flow step's fields in the source's hash: `step:<n>:sent`, `step:<n>:clicks`, `step:<n>:revenue:EUR`, … */
const stepField = (step: number, field: string) => `step:${step}:${field}`;
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
  await redis.hincrby(key, stepField(step + 1, ok ? 'sent' : 'failed'), 1);
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
  const step = click.source.step;
  const key = resultsKey(prefix, click.source);
  if (click.suspect) {
    pipe.hincrby(key, 'suspectClicks', 1);
    if (step) pipe.hincrby(key, stepField(step, 'suspectClicks'), 1);
  } else {
    pipe.hincrby(key, 'clicks', 1);
    pipe.sadd(clickersKey(prefix, click.source), click.profileId);
    if (step) {
      pipe.hincrby(key, stepField(step, 'clicks'), 1);
      pipe.sadd(stepClickersKey(prefix, click.source, step), click.profileId);
    }
    pipe.set(
      lastClickKey(prefix, click.siteId, click.profileId),
      `${tag(click.source)}:${click.at}${step ? `:${step}` : ''}`,
      'PX',
      ATTRIBUTION_WINDOW_MS,
    );
  }
  const answers = (await pipe.exec()) ?? [];
  const failed = answers.find(([err]) => err);
  if (failed) throw failed[0];
}

/**
 * A load of the open pixel: counted in `opens` and the openers when it is a person's (`suspect` null), else in
 * `suspectOpens`; a flow step's in the step's fields and set too.
 */
export async function noteOpen(
  redis: Pick<Redis, 'pipeline'>,
  prefix: string,
  open: { profileId: string; source: MailSource; suspect: string | null },
) {
  const pipe = redis.pipeline();
  const { step } = open.source;
  const key = resultsKey(prefix, open.source);
  const field = open.suspect ? 'suspectOpens' : 'opens';
  pipe.hincrby(key, field, 1);
  if (step) pipe.hincrby(key, stepField(step, field), 1);
  if (!open.suspect) {
    pipe.sadd(openersKey(prefix, open.source), open.profileId);
    if (step) pipe.sadd(stepOpenersKey(prefix, open.source, step), open.profileId);
  }
  const failed = ((await pipe.exec()) ?? []).find(([err]) => err);
  if (failed) throw failed[0];
}

const UNSUBSCRIBED = `
if redis.call('sadd', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('hincrby', KEYS[1], 'unsubscribed', 1)
if ARGV[2] ~= '' then redis.call('hincrby', KEYS[1], ARGV[2] .. 'unsubscribed', 1) end
return 1`;

/**
 * A confirmed unsubscribe through the link of a source's e-mail (its step's, for a flow): counted once per
 * person and source, however often the link is confirmed. Answers whether it was counted now.
 */
export async function noteUnsubscribe(
  redis: Pick<Redis, 'eval'>,
  prefix: string,
  source: Pick<MailSource, 'kind' | 'id' | 'step'>,
  profileId: string,
): Promise<boolean> {
  const step = source.kind === 'flow' && source.step ? stepField(source.step, '') : '';
  const counted = await redis.eval(
    UNSUBSCRIBED,
    2,
    resultsKey(prefix, source),
    unsubscribersKey(prefix, source),
    profileId,
    step,
  );
  return counted === 1;
}

const CREDIT = `
if redis.call('hsetnx', KEYS[2], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('hincrby', KEYS[1], 'orders', 1)
redis.call('hincrbyfloat', KEYS[1], 'revenue:' .. ARGV[2], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('hincrby', KEYS[1], ARGV[4] .. 'orders', 1)
  redis.call('hincrbyfloat', KEYS[1], ARGV[4] .. 'revenue:' .. ARGV[2], ARGV[3])
end
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
    // `<kind>:<id>:<time>`, and `:<step>` for a flow step's e-mail
    const click = clicks[i]?.split(':');
    if (click?.length !== 3 && click?.length !== 4) continue;
    const [kind, id, at, step] = click as [MailSource['kind'], string, string, string | undefined];
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
      step ? stepField(Number(step), '') : '',
    )) as number;
  }
  return credited;
}

/** What one e-mail (a broadcast, a flow, or a flow's step) achieved. */
export interface MailFigures {
  sent: number;
  failed: number;
  clicks: number;
  clickers: number;
  suspectClicks: number;
  /** People who confirmed an unsubscribe through the e-mail's link. */
  unsubscribed: number;
  orders: number;
  revenueByCurrency: Record<string, number>;
}

/** Opens, when the site tracks them: loads of the pixel by people, by scanners and proxies, and the people. */
export interface OpenFigures {
  opened: number;
  openers: number;
  suspectOpens: number;
}

export interface EmailResults extends MailFigures, Partial<OpenFigures> {
  /** A flow's steps (numbered from 1): each step's own figures. */
  steps?: Array<MailFigures & Partial<OpenFigures> & { step: number }>;
}

/** The figures of `hash` whose fields start with `prefix` (the source's, or `step:<n>:` for a step's). */
function figuresOf(
  hash: Record<string, string>,
  prefix: string,
  people: { clickers: number; openers?: number },
): MailFigures & Partial<OpenFigures> {
  const n = (k: string) => Number(hash[`${prefix}${k}`] ?? 0);
  const revenueByCurrency: Record<string, number> = {};
  for (const [k, v] of Object.entries(hash)) {
    if (!k.startsWith(`${prefix}revenue:`)) continue;
    revenueByCurrency[k.slice(`${prefix}revenue:`.length)] = Math.round(Number(v) * 100) / 100;
  }
  return {
    sent: n('sent'),
    failed: n('failed'),
    clicks: n('clicks'),
    clickers: people.clickers,
    suspectClicks: n('suspectClicks'),
    ...(people.openers === undefined
      ? {}
      : { opened: n('opens'), openers: people.openers, suspectOpens: n('suspectOpens') }),
    unsubscribed: n('unsubscribed'),
    orders: n('orders'),
    revenueByCurrency,
  };
}

/**
 * A campaign's or flow's results; `sent`/`failed` from `counts` when the caller keeps them (a broadcast). Opens
 * are in them when `opens` (the site tracks them) or when some were recorded (it did when the e-mail was sent).
 */
export async function readResults(
  redis: ResultsRedis,
  prefix: string,
  source: Pick<MailSource, 'kind' | 'id'>,
  options: { counts?: { sent: number; failed: number }; opens?: boolean } = {},
): Promise<EmailResults> {
  const [hash, clickers, openers] = await Promise.all([
    redis.hgetall(resultsKey(prefix, source)),
    redis.scard(clickersKey(prefix, source)),
    redis.scard(openersKey(prefix, source)),
  ]);
  const withOpens = options.opens || 'opens' in hash || 'suspectOpens' in hash;
  const total = figuresOf(hash, '', { clickers, ...(withOpens ? { openers } : {}) });
  if (options.counts) Object.assign(total, options.counts);
  if (source.kind !== 'flow') return total;
  const steps = [
    ...new Set(
      Object.keys(hash)
        .flatMap((k) => /^step:(\d+):/.exec(k)?.[1] ?? [])
        .map(Number),
    ),
  ].sort((a, b) => a - b);
  const people = await Promise.all(
    steps.map(async (step) => ({
      clickers: await redis.scard(stepClickersKey(prefix, source, step)),
      ...(withOpens ? { openers: await redis.scard(stepOpenersKey(prefix, source, step)) } : {}),
    })),
  );
  return {
    ...total,
    steps: steps.map((step, i) => ({ step, ...figuresOf(hash, stepField(step, ''), people[i]!) })),
  };
}

/** A campaign's or flow's results keys (the counters, and the sets and hashes beside them). */
export const resultKeys = (prefix: string, source: Pick<MailSource, 'kind' | 'id'>) => [
  resultsKey(prefix, source),
  clickersKey(prefix, source),
  ordersKey(prefix, source),
  unsubscribersKey(prefix, source),
  openersKey(prefix, source),
  ...(source.kind === 'flow'
    ? Array.from({ length: MAX_STEP }, (_, i) => [
        stepClickersKey(prefix, source, i + 1),
        stepOpenersKey(prefix, source, i + 1),
      ]).flat()
    : []),
];

/** Drops a deleted campaign's or flow's results. */
export const dropResults = (redis: Pick<Redis, 'del'>, prefix: string, source: Pick<MailSource, 'kind' | 'id'>) =>
  redis.del(...resultKeys(prefix, source));

/** The pattern of a site's people's last counted clicks (kept for the attribution window). */
export const siteLastClicks = (prefix: string, siteId: string) => `${lastClickKey(prefix, siteId, '')}*`;
