import { randomUUID } from 'node:crypto';
import type { FunnelBreakdown } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import { medianOfCounts, weekOf } from './funnel-state.js';

/** The counts of several hashes added up, in Redis (one reply of a few hundred values, not one per day). */
const MERGE = `
local sums = {}
for _, key in ipairs(KEYS) do
  local h = redis.call('HGETALL', key)
  for i = 1, #h, 2 do sums[h[i]] = (sums[h[i]] or 0) + tonumber(h[i + 1]) end
end
local out = {}
for v, n in pairs(sums) do
  out[#out + 1] = v
  out[#out + 1] = n
end
return out`;

/** A range's days as the whole weeks inside it (their Mondays) and the days left over. */
export function weeksAndDays(days: string[]): { weeks: string[]; days: string[] } {
  const byWeek = new Map<string, string[]>();
  for (const d of days) byWeek.set(weekOf(d), [...(byWeek.get(weekOf(d)) ?? []), d]);
  const weeks: string[] = [];
  const rest: string[] = [];
  for (const [week, list] of byWeek) {
    if (list.length === 7) weeks.push(week);
    else rest.push(...list);
  }
  return { weeks, days: rest };
}

import type { FunnelFigures } from './funnel-tally.js';

/**
 * A saved funnel's figures over some site-local days, from its Redis state alone: per step the days' bitmaps
 * OR-ed and counted (a person once, whatever the days), the medians from the days' counts of seconds, the
 * breakdown from the bitmaps of each value. A few round trips whatever the traffic.
 */
export async function savedFigures(
  redis: Redis,
  base: string,
  steps: number,
  days: string[],
  breakdown?: FunnelBreakdown,
): Promise<FunnelFigures> {
  const tmp = `${base}:tmp:${randomUUID()}`;
  const values = breakdown ? await redis.smembers(`${base}:values:${breakdown}`) : [];
  const sets: Array<{ value?: string; k: number; suffix: string }> = [];
  for (let k = 0; k < steps; k++) {
    sets.push({ k, suffix: `${k}` });
    for (const value of values) sets.push({ value, k, suffix: `${k}:${breakdown}:${value}` });
  }
  const pipeline = redis.pipeline();
  sets.forEach((s, i) => {
    pipeline.bitop('OR', `${tmp}:${i}`, ...days.map((d) => `${base}:b:${d}:${s.suffix}`));
    pipeline.bitcount(`${tmp}:${i}`);
    pipeline.unlink(`${tmp}:${i}`);
  });
  const parts = weeksAndDays(days);
  const merged = (day: (d: string) => string, week: (w: string) => string) => {
    const keys = [...parts.days.map(day), ...parts.weeks.map(week)];
    pipeline.eval(MERGE, keys.length, ...keys);
  };
  for (let k = 0; k < steps - 1; k++)
    merged(
      (d) => `${base}:h:${d}:${k}`,
      (w) => `${base}:hw:${w}:${k}`,
    );
  merged(
    (d) => `${base}:c:${d}`,
    (w) => `${base}:cw:${w}`,
  );
  const results = (await pipeline.exec()) ?? [];
  for (const [err] of results) if (err) throw err;
  const counts = new Array<number>(steps).fill(0);
  const rows = breakdown ? new Map<string, number[]>() : undefined;
  sets.forEach((s, i) => {
    const n = Number(results[i * 3 + 1]![1]);
    if (s.value === undefined) counts[s.k] = n;
    else {
      const row = rows!.get(s.value) ?? new Array<number>(steps).fill(0);
      row[s.k] = n;
      rows!.set(s.value, row);
    }
  });
  let at = sets.length * 3;
  const merge = () => {
    const flat = (results[at++]![1] ?? []) as Array<string | number>;
    const m = new Map<number, number>();
    for (let i = 0; i < flat.length; i += 2) m.set(Number(flat[i]), Number(flat[i + 1]));
    return m;
  };
  const medians: Array<number | null> = [null];
  for (let k = 0; k < steps - 1; k++) medians.push(medianOfCounts(merge()));
  const medianToConvert = medianOfCounts(merge());
  for (const [v, row] of rows ?? []) if (!row[0]) rows!.delete(v);
  return { counts, medians, medianToConvert, rows };
}
