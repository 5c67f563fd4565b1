import type { FunnelOrder, FunnelStepDefinition } from '@trackmate/schema';
import { localDay, pathOf } from '../analytics/index.js';
import type { FunnelDayOutcome } from '../models/index.js';

/** One event of a person as the matcher sees it: its time, the steps it matches (bit i: step i) and its dims. */
export interface FunnelEvent {
  t: number;
  /** Bit i set when the event matches step i; 0 for other activity (which only strict order looks at). */
  mask: number;
  /** Breakdown values at this event (only read on first-step events). */
  dims?: FunnelDims;
}

export interface FunnelDims {
  channel: string;
  country: string;
  device: string;
}

/** One attempt: a first-step event and the steps it went on to, in order, within the window. */
export interface Attempt {
  /** Steps reached, 1..n. */
  reached: number;
  /** Time of each step reached (ms). */
  times: number[];
  dims?: FunnelDims;
}

export interface MatchOptions {
  steps: number;
  windowMs: number;
  order: FunnelOrder;
}

const NONE = '(none)';

/** The steps a stored event matches, as a bit mask (0: none). */
export function stepMask(
  steps: FunnelStepDefinition[],
  event: { name: string; properties?: Record<string, unknown> | null },
): number {
  let mask = 0;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.event !== event.name) continue;
    const props = event.properties ?? {};
    if (s.path !== undefined && pathOf(typeof props.url === 'string' ? props.url : undefined) !== s.path) continue;
    if (s.property && !(Object.hasOwn(props, s.property.key) && Object.is(props[s.property.key], s.property.value)))
      continue;
    mask |= 1 << i;
  }
  return mask;
}

/** The breakdown values of a stored event (its visit's, as enrichment stored them). */
export function dimsOf(e: {
  source?: { channel?: string } | null;
  geo?: { country?: string } | null;
  device?: { type?: string } | null;
}): FunnelDims {
  return {
    channel: e.source?.channel ?? NONE,
    country: e.geo?.country ?? NONE,
    device: e.device?.type ?? NONE,
  };
}

/**
 * The attempt that starts at `events[s]` (a first-step event): each next step is the earliest later event
 * matching it (sequential), or must be the very next event (strict), until the window from the first step ends.
 * Greedy earliest matching reaches the most steps a start can reach.
 */
export function attemptFrom(events: FunnelEvent[], s: number, o: MatchOptions): Attempt {
  const start = events[s]!;
  const times = [start.t];
  for (let j = s + 1; j < events.length && times.length < o.steps; j++) {
    const e = events[j]!;
    if (e.t - start.t > o.windowMs) break;
    if (e.mask & (1 << times.length)) times.push(e.t);
    else if (o.order === 'strict') break;
  }
  return { reached: times.length, times, dims: start.dims };
}

/**
 * Every attempt of one person whose first step falls in [fromMs, toMs), from the person's events sorted by
 * time (ties in stored order).
 */
export function attemptsOf(events: FunnelEvent[], fromMs: number, toMs: number, o: MatchOptions): Attempt[] {
  const out: Attempt[] = [];
  for (let s = 0; s < events.length; s++) {
    const e = events[s]!;
    if (!(e.mask & 1) || e.t < fromMs || e.t >= toMs) continue;
    out.push(attemptFrom(events, s, o));
  }
  return out;
}

/** The better of two attempts: more steps, then the earlier start. */
export const better = (a: Attempt | undefined, b: Attempt): Attempt =>
  !a || b.reached > a.reached || (b.reached === a.reached && b.times[0]! < a.times[0]!) ? b : a;

/** Events sorted by time, stable (equal times keep their order). */
export const byTime = (events: FunnelEvent[]): FunnelEvent[] =>
  events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.t - b.e.t || a.i - b.i)
    .map((x) => x.e);

/** The median of a list of numbers (the mean of the two middle ones for an even count), or null. */
export function median(values: number[]): number | null {
  if (!values.length) return null;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Milliseconds of a window such as `14d` or `12h`; null when outside 1 hour – 90 days. */
export function windowMs(window: string): number | null {
  const m = /^([1-9][0-9]{0,4})([hd])$/.exec(window);
  if (!m) return null;
  const ms = Number(m[1]) * (m[2] === 'h' ? 3_600_000 : 86_400_000);
  return ms >= 3_600_000 && ms <= 90 * 86_400_000 ? ms : null;
}

/** What a set of attempts reached: the best one's steps, gaps and time to convert, and per breakdown value. */
export function outcomeOf(attempts: Attempt[], steps: number): FunnelDayOutcome | null {
  let best: Attempt | undefined;
  const by: Record<string, Record<string, number>> = { channel: {}, country: {}, device: {} };
  for (const a of attempts) {
    best = better(best, a);
    if (!a.dims) continue;
    for (const dim of ['channel', 'country', 'device'] as const) {
      const v = a.dims[dim];
      by[dim]![v] = Math.max(by[dim]![v] ?? 0, a.reached);
    }
  }
  if (!best) return null;
  const t = best.times;
  const out: FunnelDayOutcome = {
    reached: best.reached,
    gaps: t.slice(1).map((x, i) => Math.round((x - t[i]!) / 1000)),
    by,
  };
  if (best.reached === steps) out.convert = Math.round((t[steps - 1]! - t[0]!) / 1000);
  return out;
}

/** A person's outcome per site-local day of the first step, for attempts starting in [fromMs, toMs). */
export function dayOutcomes(
  events: FunnelEvent[],
  fromMs: number,
  toMs: number,
  o: MatchOptions,
  timezone: string,
): Record<string, FunnelDayOutcome> {
  const byDay = new Map<string, Attempt[]>();
  for (const a of attemptsOf(events, fromMs, toMs, o)) {
    const day = localDay(a.times[0]!, timezone);
    byDay.set(day, [...(byDay.get(day) ?? []), a]);
  }
  const out: Record<string, FunnelDayOutcome> = {};
  for (const [day, list] of byDay) out[day] = outcomeOf(list, o.steps)!;
  return out;
}
