import { randomUUID } from 'node:crypto';
import { STATS_DIMENSIONS, type StatsDimension, type StatsFigures } from '@trackmate/schema';
import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import { TrackMateError } from '../errors.js';
import type { Models, VisitDims, VisitDoc, VisitSummary } from '../models/index.js';
import { localDay } from './site-days.js';
import { addPacked, blockId, isKeptParsed, monthsOf, readBlocks } from './stats-blocks.js';
import { sketchKey, visitDocOf } from './visit-closer.js';
import { eventsOfVisits } from './visit-events.js';
import { readVisitDays } from './visit-records.js';
import { numberDays, type ScanOptions, ScanRows, SKIP, scanDay } from './visit-scan.js';
import { openVisitKeys, openVisitMeta } from './visit-state.js';
import { addCounts, type Counts, NONE, rowsOfVisit, summarizeRecords, VISIT_DIMS, zero } from './visit-summary.js';
import { keepCount, keptCount, versionOf } from './visitor-counts.js';

const DAY_MS = 86_400_000;

export interface Filter {
  dim: StatsDimension;
  op: '==' | '!=';
  value: string;
}

/** `filters=dim==value;dim!=value` (values may not hold `;`). */
export function parseFilters(raw: string | undefined): Filter[] {
  if (!raw) return [];
  return raw.split(';').map((part) => {
    const m = /^([a-zA-Z]+)(==|!=)(.*)$/.exec(part);
    if (!m || !(STATS_DIMENSIONS as readonly string[]).includes(m[1]!)) {
      throw new TrackMateError('TM_ERR_BAD_REQUEST', {
        message: `Bad filter "${part.slice(0, 100)}": use dimension==value or dimension!=value with a dimension of ${STATS_DIMENSIONS.join(', ')}`,
      });
    }
    return { dim: m[1] as StatsDimension, op: m[2] as '==' | '!=', value: m[3]! };
  });
}

/** The site-local days of a range, oldest first. */
export function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

/** The range of the same length just before. */
export function previousRange(from: string, to: string): { from: string; to: string } {
  const len = Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`) + DAY_MS;
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  return { from: day(Date.parse(`${from}T00:00:00Z`) - len), to: day(Date.parse(`${from}T00:00:00Z`) - DAY_MS) };
}

/** A visit as the queries see it: its fixed dimensions and its summary. */
interface SummarisedVisit {
  day: string;
  visitor: string;
  dims: VisitDims;
  summary: VisitSummary;
}

/** Whether a visit passes every filter (page and event: the visit viewed that page / sent that event). */
function passes(v: SummarisedVisit, filters: Filter[]): boolean {
  return filters.every((f) => {
    let has: boolean;
    if (f.dim === 'page') has = v.summary.pages.some((p) => p.page === f.value);
    else if (f.dim === 'event') has = v.summary.names.some((n) => n.name === f.value);
    else if (f.dim === 'entryPage') has = (v.summary.entryPage ?? NONE) === f.value;
    else if (f.dim === 'exitPage') has = (v.summary.exitPage ?? NONE) === f.value;
    else has = ((v.dims as unknown as Record<string, string | null>)[f.dim] ?? NONE) === f.value;
    return f.op === '==' ? has : !has;
  });
}

/** A row being summed: its figures, the sketches of its visitors and the visitors of open visits in it. */
interface SumEntry {
  counts: Counts;
  keys: () => string[];
  openVisitors: Set<string>;
  /** the parsed sums the entry was read from (visitor-counts.ts), when they are all kept parsed */
  version?: string;
}

export interface StatsContext {
  models: Models;
  redis: Redis;
  prefix: string;
}

/**
 * Stats over a range of site-local days. Without filters the figures come from the roll-ups (stats-blocks.ts:
 * per dimension and month, by day and value) with visitors from the daily sketches merged over the range; with filters, from the
 * closed visits' records (visit-records.ts: each closed visit's dimensions and summary, per day in Redis). Open visits (not yet rolled up) are summarised from
 * their events and added either way, so the figures are live.
 */
export class StatsQuery {
  /** The site's id as the roll-ups and Redis keys hold it (its hex). */
  private readonly siteId: string;

  constructor(
    private readonly ctx: StatsContext,
    private readonly site: Types.ObjectId,
    private readonly timezone = 'UTC',
  ) {
    this.siteId = site.toHexString();
  }

  /** Rows of one dimension (`all` for the totals), by value, with distinct visitors; or by day. */
  async rows(
    dim: string,
    from: string,
    to: string,
    filters: Filter[],
    by: 'value' | 'day' = 'value',
  ): Promise<Map<string, Counts & { visitors: number }>> {
    const open = await this.openVisits(from, to);
    const one = filters.length === 1 ? filters[0]! : undefined;
    let sums: Map<string, SumEntry>;
    if (dim === 'all' && one?.op === '==' && (VISIT_DIMS as readonly string[]).includes(one.dim)) {
      // the totals of the visits with one value of a visit's own dimension are that value's rows
      sums = await this.fromBlocks(one.dim, from, to, open, by, one.value);
      if (by === 'value') sums = new Map([...sums.values()].map((e) => ['', e]));
    } else if (filters.length) return this.fromVisits(dim, from, to, filters, open, by);
    else sums = await this.fromBlocks(dim, from, to, open, by);
    const visitors = await this.countVisitors([...sums.values()]);
    return new Map([...sums.keys()].map((k, i) => [k, { ...sums.get(k)!.counts, visitors: visitors[i]! }]));
  }

  /**
   * One page of a breakdown, sorted by `key`, then visitors, then value. Distinct visitors are counted only for
   * the rows of the page and those tied with them on `key`: merging a long tail's sketches over the range, or
   * (filtered) telling apart the visitors of every page of every visit, is what a breakdown of a thousand pages
   * would otherwise spend its time on. Filtered, the visits are scanned twice: summed, then for those rows' visitors.
   */
  async breakdown(
    dim: string,
    from: string,
    to: string,
    filters: Filter[],
    key: 'pageviews' | 'events' | 'visits',
    start: number,
    limit: number,
  ): Promise<{ rows: Array<[string, Counts & { visitors: number }]>; hasMore: boolean }> {
    const open = await this.openVisits(from, to);
    let all: Array<[string, Counts & { visitors?: number }]>;
    let countVisitors: (values: string[]) => Promise<number[]>;
    if (filters.length) {
      // the visits are summed first without their visitors, then scanned again for the visitors of the page's rows
      const scan = await this.scanVisits(from, to);
      all = [...this.sumVisits(scan, dim, filters, open, 'value', { visitors: false })].map(([value, c]) => {
        const { visitors: _, ...counts } = c;
        return [value, counts];
      });
      countVisitors = async (values) => {
        const counted = this.sumVisits(scan, dim, filters, open, 'value', { only: new Set(values) });
        return values.map((v) => counted.get(v)!.visitors);
      };
    } else {
      const sums = await this.fromBlocks(dim, from, to, open, 'value');
      all = [...sums].map(([value, e]) => [value, e.counts]);
      countVisitors = (values) => this.countVisitors(values.map((value) => sums.get(value)!));
    }
    all.sort((a, b) => b[1][key] - a[1][key]);
    const window = all.slice(start, start + limit);
    if (window.length) {
      const tied = new Set(window.map(([, c]) => c[key]));
      const need = all.filter(([, c]) => tied.has(c[key]));
      const counted = await countVisitors(need.map(([value]) => value));
      need.forEach(([, c], i) => {
        c.visitors = counted[i]!;
      });
    }
    const ranked = all.filter(([, c]) => c.visitors !== undefined) as Array<[string, Counts & { visitors: number }]>;
    ranked.sort((a, b) => b[1][key] - a[1][key] || b[1].visitors - a[1].visitors || a[0].localeCompare(b[0]));
    // rows before the window's first tie group and after its last keep their places: only ties were re-ordered
    const before = all.findIndex(([, c]) => c.visitors !== undefined);
    const rows = ranked.slice(start - before, start - before + limit);
    return { rows, hasMore: all.length > start + limit };
  }

  /** Sums of one dimension's blocks over the range (full months from `sum`, cut ones from `days`), open visits added. */
  private async fromBlocks(
    dim: string,
    from: string,
    to: string,
    open: SummarisedVisit[],
    by: 'value' | 'day',
    only?: string,
  ): Promise<Map<string, SumEntry>> {
    const days = daysOf(from, to);
    const months = monthsOf(days);
    const whole = months.filter((m) => m.full && by === 'value');
    const cut = months.filter((m) => !(m.full && by === 'value'));
    const id = (month: string) => blockId(this.siteId, dim, month);
    const read = await readBlocks(this.ctx.models, this.ctx.redis, this.ctx.prefix, [
      ...whole.map((m) => ({ id: id(m.month), days: null })),
      // by value, a cut month's days are one sum: read as the few pre-merged runs that make it up
      ...cut.map((m) => ({ id: id(m.month), days: m.days, span: by === 'value' })),
    ]);
    const sums = new Map<string, SumEntry>();
    // what the rows' visitor counts can be kept with: every sums object read, if each stands for its text
    const readSums = [
      ...whole.flatMap((m) => read.get(id(m.month))?.sum ?? []),
      ...cut.flatMap((m) => read.get(id(m.month))?.parts ?? []),
    ];
    const version = by === 'value' && readSums.every(isKeptParsed) ? versionOf(readSums) : undefined;
    // a whole month's visitors are in its month sketch, a cut month's in its days'
    const spans = months.flatMap((m) => (m.full ? [m.month] : m.days));
    const keysOf = (value: string, day?: string) => () =>
      (day ? [day] : spans).map((d) => sketchKey(this.ctx.prefix, this.siteId, d, dim, value));
    const entry = (k: string, value: string, day?: string) => {
      let e = sums.get(k);
      if (!e) {
        e = { counts: zero(), keys: keysOf(value, day), openVisitors: new Set(), version };
        sums.set(k, e);
      }
      return e;
    };
    for (const m of whole) {
      for (const [value, p] of read.get(id(m.month))?.sum ?? [])
        if (only === undefined || value === only) addPacked(entry(value, value).counts, p);
    }
    for (const m of cut) {
      for (const values of read.get(id(m.month))?.parts ?? []) {
        for (const [value, p] of values)
          if (only === undefined || value === only) addPacked(entry(value, value).counts, p);
      }
      for (const [day, values] of read.get(id(m.month))?.days ?? []) {
        for (const [value, p] of values) {
          if (only !== undefined && value !== only) continue;
          const e = by === 'day' ? entry(day, value, day) : entry(value, value);
          addPacked(e.counts, p);
        }
      }
    }
    for (const v of open) {
      for (const row of rowsOfVisit(v.dims, v.summary)) {
        if (row.dim !== dim || (only !== undefined && row.value !== only)) continue;
        const e = by === 'day' ? entry(v.day, row.value, v.day) : entry(row.value, row.value);
        addCounts(e.counts, row.counts);
        if (row.counts.visits) e.openVisitors.add(v.visitor);
      }
    }
    return sums;
  }

  /** Distinct visitors of each entry: its rows' sketches merged, plus the visitors of open visits. */
  private async countVisitors(entries: SumEntry[]): Promise<number[]> {
    const pipeline = this.ctx.redis.pipeline();
    const tmp: string[] = [];
    const kept: Array<number | undefined> = [];
    const keys: string[][] = [];
    const plan = entries.map((entry, i) => {
      const e = { keys: entry.keys(), openVisitors: entry.openVisitors };
      keys[i] = e.keys;
      if (!e.openVisitors.size) {
        // a closed row's count, kept while the sums it was counted beside are those read
        if (entry.version !== undefined) kept[i] = keptCount(e.keys, entry.version);
        if (kept[i] !== undefined) return -1;
        if (e.keys.length) pipeline.pfcount(...(e.keys as [string]));
        return e.keys.length ? 1 : 0;
      }
      const key = `${this.ctx.prefix}:uv-tmp:${randomUUID()}`;
      tmp.push(key);
      pipeline.pfmerge(key, ...(e.keys as [string]));
      pipeline.pfadd(key, ...e.openVisitors);
      pipeline.pfcount(key);
      pipeline.del(key);
      return 4;
    });
    const results = (await pipeline.exec()) ?? [];
    let i = 0;
    return plan.map((n, k) => {
      if (n === -1) return kept[k]!;
      if (n === 0) return 0;
      const [err, value] = results[i + (n === 4 ? 2 : 0)]!;
      i += n;
      if (err) throw err;
      const version = entries[k]!.version;
      if (n === 1 && version !== undefined) keepCount(keys[k]!, version, Number(value));
      return Number(value);
    });
  }

  private async fromVisits(
    dim: string,
    from: string,
    to: string,
    filters: Filter[],
    open: SummarisedVisit[],
    by: 'value' | 'day',
  ) {
    return this.sumVisits(await this.scanVisits(from, to), dim, filters, open, by);
  }

  /** The range's days as columns, their visitors numbered (what sumVisits scans). */
  private async scanVisits(from: string, to: string) {
    const days = await readVisitDays(
      this.ctx.models,
      this.ctx.redis,
      this.ctx.prefix,
      this.site,
      this.timezone,
      daysOf(from, to),
    );
    return { days, ...numberDays(days) };
  }

  /** The rows of the days' visits (and the open ones) that pass the filters, as `options` asks. */
  private sumVisits(
    { days, numbers, visitors }: Awaited<ReturnType<StatsQuery['scanVisits']>>,
    dim: string,
    filters: Filter[],
    open: SummarisedVisit[],
    by: 'value' | 'day',
    options?: ScanOptions,
  ) {
    const out = new ScanRows(numbers, undefined, options);
    for (const [i, cols] of days.entries()) scanDay(cols, visitors[i]!, filters, dim, by, out);
    for (const v of open) {
      if (!v.summary || !passes(v, filters)) continue;
      for (const row of rowsOfVisit(v.dims, v.summary)) {
        if (row.dim !== dim) continue;
        const i = out.row(by === 'day' ? v.day : row.value);
        if (i === SKIP) continue;
        out.add(i, row.counts);
        if (row.counts.visits && out.counting) out.addVisitor(i, numbers.of(v.visitor));
      }
    }
    return out.result();
  }

  /** Visits of the range not rolled up yet (Redis), summarised from their events (a busy site has a few hundred). */
  private async openVisits(from: string, to: string): Promise<SummarisedVisit[]> {
    const all = await this.openVisitDocs();
    const visits = all.filter((v) => !v.dims.bot);
    if (!visits.length) return [];
    const events = await eventsOfVisits(
      this.ctx.models,
      this.ctx.redis,
      this.ctx.prefix,
      visits.map((v) => v._id),
    );
    const out: SummarisedVisit[] = [];
    for (const v of visits) {
      const list = events.get(v._id);
      if (!list) continue;
      const first = list.reduce((m, e) => Math.min(m, e[0]), Number.POSITIVE_INFINITY);
      const day = localDay(first, this.timezone);
      if (day >= from && day <= to)
        out.push({ day, visitor: v.visitor, dims: v.dims, summary: summarizeRecords(list) });
    }
    return out;
  }

  /** This site's open visits, as documents. */
  async openVisitDocs(sinceTouched = 0): Promise<VisitDoc[]> {
    const ids = await this.ctx.redis.zrangebyscore(
      openVisitKeys(this.ctx.prefix, this.siteId).site,
      sinceTouched,
      '+inf',
    );
    const metas = await openVisitMeta(this.ctx.redis, this.ctx.prefix, ids);
    return metas.map(visitDocOf);
  }

  /** Bot visits and events, counted apart. */
  async bots(from: string, to: string): Promise<{ visits: number; events: number }> {
    const rows = await this.fromBlocks('bots', from, to, [], 'value');
    const closed = rows.get('')?.counts ?? zero();
    const open = (await this.openVisitDocs()).filter(
      (v) =>
        v.dims.bot &&
        localDay(v.start.getTime(), this.timezone) >= from &&
        localDay(v.start.getTime(), this.timezone) <= to,
    ).length;
    return { visits: closed.visits + open, events: closed.events };
  }
}

const rate = (a: number, b: number, digits = 4) => (b > 0 ? Math.round((a / b) * 10 ** digits) / 10 ** digits : null);

/** Raw sums and the rates derived from them. */
export function figures(c: (Counts & { visitors: number }) | undefined): StatsFigures {
  const x = c ?? { ...zero(), visitors: 0 };
  return {
    visitors: x.visitors,
    visits: x.visits,
    pageviews: x.pageviews,
    bounces: x.bounces,
    totalDuration: x.duration,
    events: x.events,
    orders: x.orders,
    revenue: x.revenue,
    revenueByCurrency: x.revenueByCurrency,
    viewsPerVisit: rate(x.pageviews, x.visits, 2),
    bounceRate: rate(x.bounces, x.visits),
    visitDuration: x.visits > 0 ? Math.round(x.duration / x.visits) : null,
  };
}

export { VISIT_DIMS };
