import { FUNNEL_BREAKDOWNS } from '@trackmate/schema';
import type { FunnelDayOutcome } from '../models/index.js';

/**
 * A saved funnel's figures in Redis, per site-local day of the first step, all under one hash tag so that a
 * range is merged in one place (also on a Redis Cluster):
 * - `b:<day>:<k>` a bitmap of the people (by number) whose best attempt of that day reached step k+1, and
 *   `b:<day>:<k>:<dim>:<value>` the same per breakdown value; a range's people = the days' bitmaps OR-ed;
 * - `h:<day>:<k>` seconds from step k to k+1 (2 significant digits) → people-days, `c:<day>` to convert, and
 *   the same per week (`hw:<monday>:<k>`, `cw:<monday>`), so a long range merges few hashes;
 * - `pid` person → number, `seq` the last number; `values:<dim>` breakdown values seen;
 * - `wv:<monday>` the week's version, raised by every change to one of its days: a query keeps the OR of a whole
 *   week's bitmaps (`bw:<monday>:<k>…`, funnel-saved.ts) and uses it while the version it was made at stands;
 * - `s:<person>` each person's state, `to:<visitor>` the person a merged visitor id forwards to
 *   (funnel-progress.ts).
 * Bits are set to what the person's state says (idempotent); the counts of `h:`/`c:` move by differences.
 */
export const funnelBase = (prefix: string, siteId: string, funnelId: string) =>
  `${prefix}:funnel:${siteId}:{${funnelId}}`;

/** Seconds kept to 2 significant digits, so that medians are taken from a few hundred values at most. */
export const bucket = (seconds: number) => (seconds < 100 ? seconds : Number(seconds.toPrecision(2)));

const mondays = new Map<string, string>();

/** The Monday (YYYY-MM-DD) of a day's week. */
export function weekOf(day: string): string {
  let monday = mondays.get(day);
  if (monday) return monday;
  const t = Date.parse(`${day}T00:00:00Z`);
  const back = (new Date(t).getUTCDay() + 6) % 7;
  monday = new Date(t - back * 86_400_000).toISOString().slice(0, 10);
  if (mondays.size > 10_000) mondays.clear();
  mondays.set(day, monday);
  return monday;
}

/** The writes writeDays makes: a Redis pipeline or transaction, or a batch of them (funnel-progress.ts). */
export interface DayWrites {
  incr(key: string): unknown;
  setbit(key: string, offset: number, value: 0 | 1): unknown;
  sadd(key: string, member: string): unknown;
  hincrby(key: string, field: string, by: number): unknown;
}

/** The Redis writes that take a person's days from `before` to `after`. */
export function writeDays(
  pipeline: DayWrites,
  base: string,
  pid: number,
  steps: number,
  before: Record<string, FunnelDayOutcome>,
  after: Record<string, FunnelDayOutcome>,
): void {
  for (const day of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[day];
    const b = after[day];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    pipeline.incr(`${base}:wv:${weekOf(day)}`);
    for (let k = 0; k < steps; k++) {
      const was = (a?.reached ?? 0) > k;
      const is = (b?.reached ?? 0) > k;
      if (was !== is) pipeline.setbit(`${base}:b:${day}:${k}`, pid, is ? 1 : 0);
    }
    for (const dim of FUNNEL_BREAKDOWNS) {
      const va = a?.by[dim] ?? {};
      const vb = b?.by[dim] ?? {};
      for (const value of new Set([...Object.keys(va), ...Object.keys(vb)])) {
        if (vb[value]) pipeline.sadd(`${base}:values:${dim}`, value);
        for (let k = 0; k < steps; k++) {
          const was = (va[value] ?? 0) > k;
          const is = (vb[value] ?? 0) > k;
          if (was !== is) pipeline.setbit(`${base}:b:${day}:${k}:${dim}:${value}`, pid, is ? 1 : 0);
        }
      }
    }
    const move = (o: FunnelDayOutcome | undefined, by: 1 | -1) => {
      if (!o) return;
      const week = weekOf(day);
      o.gaps.forEach((g, k) => {
        pipeline.hincrby(`${base}:h:${day}:${k}`, String(bucket(g)), by);
        pipeline.hincrby(`${base}:hw:${week}:${k}`, String(bucket(g)), by);
      });
      if (o.convert !== undefined) {
        pipeline.hincrby(`${base}:c:${day}`, String(bucket(o.convert)), by);
        pipeline.hincrby(`${base}:cw:${week}`, String(bucket(o.convert)), by);
      }
    };
    move(a, -1);
    move(b, 1);
  }
}

/** The median of values given as value → count (the mean of the two middle ones for an even count), or null. */
export function medianOfCounts(counts: Map<number, number>): number | null {
  const sorted = [...counts].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((s, [, n]) => s + n, 0);
  if (!total) return null;
  const at = (i: number) => {
    let seen = 0;
    for (const [v, n] of sorted) {
      seen += n;
      if (i < seen) return v;
    }
    return sorted.at(-1)![0];
  };
  return total % 2 ? at(total >> 1) : (at(total / 2 - 1) + at(total / 2)) / 2;
}
