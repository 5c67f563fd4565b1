import { randomUUID } from 'node:crypto';
import type { FunnelBreakdown } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import { medianOfCounts } from './funnel-state.js';
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
  for (let k = 0; k < steps - 1; k++) for (const d of days) pipeline.hgetall(`${base}:h:${d}:${k}`);
  for (const d of days) pipeline.hgetall(`${base}:c:${d}`);
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
  const merge = (n: number) => {
    const m = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const h = (results[at++]![1] ?? {}) as Record<string, string>;
      for (const [v, c] of Object.entries(h)) m.set(Number(v), (m.get(Number(v)) ?? 0) + Number(c));
    }
    return m;
  };
  const medians: Array<number | null> = [null];
  for (let k = 0; k < steps - 1; k++) medians.push(medianOfCounts(merge(days.length)));
  const medianToConvert = medianOfCounts(merge(days.length));
  for (const [v, row] of rows ?? []) if (!row[0]) rows!.delete(v);
  return { counts, medians, medianToConvert, rows };
}
