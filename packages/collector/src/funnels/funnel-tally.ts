import type { FunnelBreakdown, FunnelResult, FunnelStepDefinition } from '@trackmate/schema';
import type { FunnelDayOutcome } from '../models/index.js';
import { bucket, medianOfCounts } from './funnel-state.js';

/** The figures of a funnel, whatever computed them (a scan of events, or a saved funnel's state). */
export interface FunnelFigures {
  /** People per step. */
  counts: number[];
  /** Median seconds from the previous step, per step (null for the first step). */
  medians: Array<number | null>;
  medianToConvert: number | null;
  /** Per breakdown value, people per step. */
  rows?: Map<string, number[]>;
}

const rate = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);
const count = (m: Map<number, number>, v: number) => m.set(bucket(v), (m.get(bucket(v)) ?? 0) + 1);

/**
 * Counts, medians and breakdown rows from each person's outcome per day over a range: a person counts once per
 * step (their best day), once per breakdown value; times between steps are taken from each person-day's best
 * attempt, to 3 significant digits — as a saved funnel keeps them.
 */
export function figuresOf(
  steps: number,
  people: Iterable<FunnelDayOutcome[]>,
  breakdown?: FunnelBreakdown,
): FunnelFigures {
  const counts = new Array<number>(steps).fill(0);
  const gaps = Array.from({ length: steps }, () => new Map<number, number>());
  const toConvert = new Map<number, number>();
  const rows = breakdown ? new Map<string, number[]>() : undefined;
  for (const days of people) {
    const reached = Math.max(0, ...days.map((d) => d.reached));
    for (let k = 0; k < reached; k++) counts[k]!++;
    const byValue = new Map<string, number>();
    for (const d of days) {
      d.gaps.forEach((g, k) => {
        count(gaps[k + 1]!, g);
      });
      if (d.convert !== undefined) count(toConvert, d.convert);
      if (breakdown)
        for (const [v, r] of Object.entries(d.by[breakdown] ?? {})) byValue.set(v, Math.max(byValue.get(v) ?? 0, r));
    }
    if (rows) {
      for (const [value, r] of byValue) {
        const row = rows.get(value) ?? new Array<number>(steps).fill(0);
        rows.set(value, row);
        for (let k = 0; k < r; k++) row[k]!++;
      }
    }
  }
  return {
    counts,
    medians: gaps.map((g, k) => (k ? medianOfCounts(g) : null)),
    medianToConvert: medianOfCounts(toConvert),
    rows,
  };
}

/** The API's answer from a funnel's figures. */
export function funnelResult(
  steps: FunnelStepDefinition[],
  f: FunnelFigures,
  meta: Pick<FunnelResult, 'from' | 'to' | 'timezone' | 'window' | 'order' | 'computedFrom'> & {
    breakdown?: FunnelBreakdown;
    limit?: number;
    limited?: boolean;
  },
): FunnelResult {
  const first = f.counts[0] ?? 0;
  const out: FunnelResult = {
    from: meta.from,
    to: meta.to,
    timezone: meta.timezone,
    window: meta.window,
    order: meta.order,
    steps: steps.map((s, k) => ({
      ...s,
      visitors: f.counts[k]!,
      conversionRate: rate(f.counts[k]!, first),
      fromPrevious: k ? rate(f.counts[k]!, f.counts[k - 1]!) : null,
      dropOff: k ? f.counts[k - 1]! - f.counts[k]! : 0,
      medianSecondsFromPrevious: f.medians[k] ?? null,
    })),
    conversionRate: rate(f.counts[steps.length - 1]!, first),
    medianSecondsToConvert: f.medianToConvert,
    computedFrom: meta.computedFrom,
    limited: meta.limited ?? false,
  };
  if (meta.limited) out.notice = `limited to ${meta.limit} visitors`;
  if (meta.breakdown && f.rows) {
    out.breakdown = {
      dimension: meta.breakdown,
      rows: [...f.rows]
        .map(([value, visitors]) => ({ value, visitors }))
        .sort((a, b) => b.visitors[0]! - a.visitors[0]! || a.value.localeCompare(b.value)),
    };
  }
  return out;
}
