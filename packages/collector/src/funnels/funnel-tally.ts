import type { FunnelBreakdown, FunnelResult, FunnelStepDefinition } from '@trackmate/schema';
import { type Attempt, median } from './funnel-match.js';

/** A person's outcome over a range: the best attempt, and per breakdown value the steps reached from it. */
export interface PersonOutcome {
  best: Attempt;
  byValue?: Map<string, number>;
}

/** The figures of a funnel, whatever computed them. */
export interface FunnelFigures {
  /** People per step. */
  counts: number[];
  /** Median whole seconds from the previous step, per step (null for the first step). */
  medians: Array<number | null>;
  medianToConvert: number | null;
  /** Per breakdown value, people per step. */
  rows?: Map<string, number[]>;
}

const rate = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 10_000) / 10_000 : null);

/** Counts, medians and breakdown rows of people's best attempts. */
export function figuresOf(
  steps: number,
  outcomes: Iterable<PersonOutcome>,
  breakdown?: FunnelBreakdown,
): FunnelFigures {
  const counts = new Array<number>(steps).fill(0);
  const gaps: number[][] = Array.from({ length: steps }, () => []);
  const toConvert: number[] = [];
  const rows = breakdown ? new Map<string, number[]>() : undefined;
  for (const o of outcomes) {
    const t = o.best.times;
    for (let k = 0; k < o.best.reached; k++) {
      counts[k]!++;
      if (k > 0) gaps[k]!.push(Math.round((t[k]! - t[k - 1]!) / 1000));
    }
    if (o.best.reached === steps) toConvert.push(Math.round((t[steps - 1]! - t[0]!) / 1000));
    if (rows && o.byValue) {
      for (const [value, reached] of o.byValue) {
        const row = rows.get(value) ?? new Array<number>(steps).fill(0);
        rows.set(value, row);
        for (let k = 0; k < reached; k++) row[k]!++;
      }
    }
  }
  return { counts, medians: gaps.map((g, k) => (k ? median(g) : null)), medianToConvert: median(toConvert), rows };
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
