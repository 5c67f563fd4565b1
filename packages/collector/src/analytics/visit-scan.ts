import type { DayColumns } from './visit-columns.js';
import { type Counts, NONE, VISIT_DIMS, zero } from './visit-summary.js';

/**
 * Filtered stats from the days' columns (visit-columns.ts): each day's visits that pass every filter are summed
 * into rows, as rowsOfVisit splits a visit, and their visitors counted exactly over the whole range. Visitors
 * are numbered once per process (the same number in every day it holds), so counting them over 90 days adds
 * integers: a bitset per row for the rows first seen (4 MB of them, at least 32 rows; a few of them fit a
 * processor's cache), (row, visitor) pairs sorted once for the rest (a long tail of pages).
 */

/** Visitor numbers of a process: every day it holds numbered alike. */
export class VisitorNumbers {
  private readonly ids = new Map<string, number>();
  /** each visitor's string, by number (one copy, which the days' dictionaries then share) */
  readonly names: string[] = [];

  get size(): number {
    return this.names.length;
  }

  has(visitor: string): boolean {
    return this.ids.has(visitor);
  }

  of(visitor: string): number {
    let i = this.ids.get(visitor);
    if (i === undefined) {
      i = this.names.length;
      this.ids.set(visitor, i);
      this.names.push(visitor);
    }
    return i;
  }
}

/** Past this many visitors the numbers start again (the days held are numbered again when next read). */
const MAX_VISITORS = 4_000_000;
let current = new VisitorNumbers();
const numbered = new WeakMap<DayColumns, { numbers: VisitorNumbers; visitor: Int32Array }>();

/** The days' visitors by this process' numbers (numbered once per day), and the numbers used. */
export function numberDays(days: DayColumns[]): { numbers: VisitorNumbers; visitors: Int32Array[] } {
  if (current.size > MAX_VISITORS) current = new VisitorNumbers();
  const numbers = current;
  // visitors not numbered yet take their numbers in sorted order, as each day's visits are sorted (visit-columns.ts):
  // a day's visits then count their visitors in ascending numbers, a few bitset words at a time
  const todo = days.filter((cols) => numbered.get(cols)?.numbers !== numbers);
  if (todo.length > 1) {
    const fresh = new Set<string>();
    for (const cols of todo) for (const v of cols.visitors) if (!numbers.has(v)) fresh.add(v);
    for (const v of [...fresh].sort()) numbers.of(v);
  }
  const visitors = days.map((cols) => {
    const held = numbered.get(cols);
    if (held?.numbers === numbers) return held.visitor;
    const byIndex = cols.visitors.map((v) => numbers.of(v));
    // the day's strings become the numbers' own copies: 90 days of a returning visitor hold one string
    for (let i = 0; i < byIndex.length; i++) cols.visitors[i] = numbers.names[byIndex[i]!]!;
    const local = cols.cols.visitor!;
    const visitor = new Int32Array(cols.n);
    for (let k = 0; k < cols.n; k++) visitor[k] = byIndex[local[k]!]!;
    numbered.set(cols, { numbers, visitor });
    return visitor;
  });
  return { numbers, visitors };
}

/** Id of a string in a day's dictionary (-1: not there), from a map made once per day. */
const lookups = new WeakMap<DayColumns, Map<string, number>>();
function idOf(cols: DayColumns, s: string): number {
  let map = lookups.get(cols);
  if (!map) {
    map = new Map(cols.strings.map((x, i) => [x, i]));
    map.delete('');
    lookups.set(cols, map);
  }
  return map.get(s) ?? -1;
}

/** Bytes of visitor bitsets a query may use: the rows first seen get one each, the rest (pages' tail) pairs. */
const BITSET_BYTES = 4 * 1048576;
/** Integer sums a row keeps in `sums`, in this order (revenue, by currency too, stays in its Counts). */
const SUMS = ['visits', 'bounces', 'duration', 'pageviews', 'events', 'orders'] as const;
const S = SUMS.length;

/** What `ScanRows.row` gives a key the rows leave out (`only`): a scan skips it. */
export const SKIP = -2;

/** Which rows a scan sums and which it counts visitors of. */
export interface ScanOptions {
  /** count each row's visitors (false: only the sums; the visitors of the rows a page shows are counted after) */
  visitors?: boolean;
  /** only these rows (by key) are made; a visit's share in any other row is skipped */
  only?: ReadonlySet<string>;
}

/** Rows being summed over several days (and the open visits), with their visitors. */
export class ScanRows {
  private readonly rowIds = new Map<string, number>();
  readonly keys: string[] = [];
  /** each row's revenue and revenue by currency (its other figures are in `sums`) */
  readonly money: Counts[] = [];
  /** per row, the SUMS */
  sums = new Float64Array(64 * S);
  /** the first `bitRows` rows' visitors, a bit per visitor number (a few of them fit a processor's cache) */
  readonly bits: Uint32Array[] = [];
  readonly bitRows: number;
  private words: number;
  private pairRows = new Int32Array(4096);
  private pairVisitors = new Int32Array(4096);
  private pairs = 0;
  /** whether visitors are counted (a scan that leaves them out does not call addVisitor) */
  readonly counting: boolean;
  private readonly only: ReadonlySet<string> | undefined;

  constructor(
    readonly numbers: VisitorNumbers,
    bitsetBytes = BITSET_BYTES,
    options: ScanOptions = {},
  ) {
    this.words = (numbers.size >>> 5) + 1;
    this.bitRows = Math.max(32, Math.floor(bitsetBytes / (this.words * 4)));
    this.counting = options.visitors ?? true;
    this.only = options.only;
  }

  /** The row of a key (a value, or a day), made when first seen; SKIP for a key `only` leaves out. */
  row(key: string): number {
    let i = this.rowIds.get(key);
    if (i === undefined) {
      if (this.only && !this.only.has(key)) return SKIP;
      i = this.keys.length;
      this.rowIds.set(key, i);
      this.keys.push(key);
      this.money.push(zero());
      if (i < this.bitRows) this.bits.push(new Uint32Array(this.words));
      if ((i + 1) * S > this.sums.length) {
        const grown = new Float64Array(this.sums.length * 2);
        grown.set(this.sums);
        this.sums = grown;
      }
    }
    return i;
  }

  /** Adds a visit's row counts to row `i`. */
  add(i: number, c: Counts): void {
    SUMS.forEach((k, j) => {
      this.sums[i * S + j]! += c[k];
    });
    addMoney(this.money[i]!, c.revenue, c.revenueByCurrency);
  }

  /** Counts the visitor (by number) in the row. */
  addVisitor(row: number, visitor: number): void {
    if (row < this.bitRows) {
      const w = visitor >>> 5;
      if (w >= this.words) {
        // a visitor numbered after the query began (an open visit's)
        this.words = Math.max(w + 1, this.words * 2);
        this.bits.forEach((b, i) => {
          this.bits[i] = new Uint32Array(this.words);
          this.bits[i]!.set(b);
        });
      }
      this.bits[row]![w]! |= 1 << (visitor & 31);
      return;
    }
    if (this.pairs === this.pairRows.length) {
      const rows = new Int32Array(this.pairs * 2);
      rows.set(this.pairRows);
      this.pairRows = rows;
      const visitors = new Int32Array(this.pairs * 2);
      visitors.set(this.pairVisitors);
      this.pairVisitors = visitors;
    }
    this.pairRows[this.pairs] = row;
    this.pairVisitors[this.pairs++] = visitor;
  }

  /** The rows by key, visitors counted. */
  result(): Map<string, Counts & { visitors: number }> {
    const visitors = new Int32Array(this.keys.length);
    this.bits.forEach((b, row) => {
      let n = 0;
      for (let w = 0; w < b.length; w++) {
        let x = b[w]!;
        x -= (x >>> 1) & 0x55555555;
        x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
        n += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
      }
      visitors[row] = n;
    });
    if (this.pairs) {
      // pairs grouped by row (a counting sort), each row's distinct visitors told apart by a stamp per visitor
      const start = new Int32Array(this.keys.length + 1);
      for (let p = 0; p < this.pairs; p++) start[this.pairRows[p]! + 1]!++;
      for (let r = 0; r < this.keys.length; r++) start[r + 1]! += start[r]!;
      const at = start.slice(0, -1);
      const sorted = new Int32Array(this.pairs);
      for (let p = 0; p < this.pairs; p++) sorted[at[this.pairRows[p]!]!++] = this.pairVisitors[p]!;
      let size = this.numbers.size;
      for (let p = 0; p < this.pairs; p++) size = Math.max(size, this.pairVisitors[p]! + 1);
      const stamp = new Int32Array(size);
      for (let r = this.bitRows; r < this.keys.length; r++) {
        let n = 0;
        for (let p = start[r]!; p < start[r + 1]!; p++) {
          const v = sorted[p]!;
          if (stamp[v] !== r + 1) {
            stamp[v] = r + 1;
            n++;
          }
        }
        visitors[r] = n;
      }
    }
    return new Map(
      this.keys.map((k, i) => {
        const c = this.money[i]!;
        SUMS.forEach((key, j) => {
          c[key] = this.sums[i * S + j]!;
        });
        return [k, { ...c, visitors: visitors[i]! }];
      }),
    );
  }
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** Adds revenue (and revenue by currency) to `c`, rounded to cents as every sum of money is. */
function addMoney(c: Counts, revenue: number, byCurrency: Record<string, number> | undefined): void {
  c.revenue = round2(c.revenue + revenue);
  if (byCurrency)
    for (const [code, x] of Object.entries(byCurrency))
      c.revenueByCurrency[code] = round2((c.revenueByCurrency[code] ?? 0) + x);
}

export interface ColumnFilter {
  dim: string;
  op: '==' | '!=';
  value: string;
}

type Ints = Uint8Array | Uint16Array | Int32Array;

/**
 * Which of the day's visits pass the filters, kept with the day for its last few sets of filters (a filtered
 * dashboard asks each day once per panel with the same filters; a page filter reads every page of every visit).
 */
const masks = new WeakMap<DayColumns, Map<string, Uint8Array>>();
const MASKS_A_DAY = 4;

/** Which of the day's visits pass every filter (null: all of them). */
function passing(cols: DayColumns, filters: ColumnFilter[]): Uint8Array | null {
  if (!filters.length) return null;
  let held = masks.get(cols);
  if (!held) {
    held = new Map();
    masks.set(cols, held);
  }
  const key = JSON.stringify(filters.map((f) => [f.dim, f.op, f.value]));
  let pass = held.get(key);
  if (!pass) {
    pass = mask(cols, filters);
    if (held.size >= MASKS_A_DAY) held.delete(held.keys().next().value!);
    held.set(key, pass);
  }
  return pass;
}

function mask(cols: DayColumns, filters: ColumnFilter[]): Uint8Array {
  const c = cols.cols as Record<string, Ints | undefined>;
  const pass = new Uint8Array(cols.n).fill(1);
  for (const f of filters) {
    const hit = idOf(cols, f.value);
    const eq = f.op === '==';
    if (f.dim === 'page' || f.dim === 'event') {
      // the visit viewed the page / sent the event
      const ids = f.dim === 'page' ? c.pageId! : c.nameId!;
      const counts = f.dim === 'page' ? c.pageCount! : c.nameCount!;
      let at = 0;
      for (let k = 0; k < cols.n; k++) {
        const end = at + counts[k]!;
        let has = false;
        for (let j = at; j < end; j++) {
          if (ids[j] === hit) {
            has = true;
            break;
          }
        }
        at = end;
        if (has !== eq) pass[k] = 0;
      }
      continue;
    }
    const col = f.dim === 'entryPage' ? c.entry : f.dim === 'exitPage' ? c.exit : c[f.dim];
    const orNone = f.value === NONE;
    if (!col) {
      // no visit of the day has a value
      if (orNone !== eq) pass.fill(0);
      continue;
    }
    for (let k = 0; k < cols.n; k++) {
      const v = col[k]!;
      if ((v === hit || (orNone && v === 0)) !== eq) pass[k] = 0;
    }
  }
  return pass;
}

/**
 * Adds the day's visits that pass every filter to `out`, as stats-query's rows of `dim` (keyed by value, or by
 * day): the same figures rowsOfVisit gives each visit. `visitor` is the day's visitors by `out`'s numbers.
 */
export function scanDay(
  cols: DayColumns,
  visitor: Int32Array,
  filters: ColumnFilter[],
  dim: string,
  by: 'value' | 'day',
  out: ScanRows,
): void {
  const c = cols.cols as Record<string, Ints | undefined>;
  const { strings, currencies } = cols;
  const pass = passing(cols, filters);
  const flags = c.flags!;
  const pageviews = c.pageviews!;
  const events = c.events!;
  const duration = c.duration!;
  const orders = c.orders!;
  const pageCount = c.pageCount!;
  const pageId = c.pageId!;
  const pageViews = c.pageViews!;
  const nameCount = c.nameCount!;
  const nameId = c.nameId!;
  const nameCounts = c.nameCount_!;
  const nameOrders = c.nameOrders!;
  const moneyAt = c.moneyAt!;
  const moneyRevenue = cols.cols.moneyRevenue as Float64Array;
  const moneyCurrency = c.moneyCurrency!;
  // how a visit adds to the rows: whole (the totals, a visit's own dimension, its entry or exit page), per page,
  // per event name
  const isVisitDim = (VISIT_DIMS as readonly string[]).includes(dim);
  const entryExit = dim === 'entryPage' || dim === 'exitPage';
  const whole = dim === 'all' || isVisitDim || entryExit;
  const dimCol = dim === 'entryPage' ? c.entry : dim === 'exitPage' ? c.exit : isVisitDim ? c[dim] : undefined;
  // this day's string ids → the query's rows, looked up once each; rows are made when a visit adds to them
  const byDay = by === 'day';
  // (by day, or the totals: every visit's row is one, found in rowOf[0])
  const oneRow = byDay || dim === 'all';
  const rowOf = new Int32Array(strings.length).fill(-1);
  const rowOfId = (id: number) => {
    if (oneRow) {
      if (rowOf[0] === -1) rowOf[0] = out.row(byDay ? cols.day : '');
      return rowOf[0]!;
    }
    let i = rowOf[id]!;
    if (i === -1) {
      i = out.row(id ? strings[id]! : NONE);
      rowOf[id] = i;
    }
    return i;
  };
  const money = (row: number, m: number) => {
    const cur = moneyCurrency[m]!;
    addMoney(out.money[row]!, moneyRevenue[m]!, cur ? currencies[cur - 1] : undefined);
  };
  let { sums } = out;
  const { bits, bitRows, counting } = out;
  const grow = () => {
    sums = out.sums;
  };
  if (whole) {
    // one row a visit: the loop the 90-day filtered totals and breakdowns spend their time in
    let mi = 0;
    for (let k = 0; k < cols.n; k++) {
      let m = -1;
      if (moneyAt[mi] === k) m = mi++;
      if (pass && !pass[k]) continue;
      const fl = flags[k]!;
      const client = fl & 1;
      if (entryExit && !client) continue;
      const id = dimCol && !oneRow ? dimCol[k]! : 0;
      let row = rowOf[id]!;
      if (row < 0) {
        if (row === SKIP) continue;
        row = rowOfId(id);
        grow();
        if (row === SKIP) continue;
      }
      const at = row * S;
      sums[at]! += client;
      sums[at + 1]! += fl >> 1;
      sums[at + 2]! += duration[k]!;
      sums[at + 3]! += pageviews[k]!;
      sums[at + 4]! += events[k]!;
      sums[at + 5]! += orders[k]!;
      if (m >= 0) money(row, m);
      if (client && counting) {
        const v = visitor[k]!;
        if (row < bitRows) bits[row]![v >>> 5]! |= 1 << (v & 31);
        else out.addVisitor(row, v);
      }
    }
    return;
  }
  let pageAt = 0;
  let nameAt = 0;
  let mi = 0;
  for (let k = 0; k < cols.n; k++) {
    const p0 = pageAt;
    pageAt += pageCount[k]!;
    const n0 = nameAt;
    nameAt += nameCount[k]!;
    let m = -1;
    if (moneyAt[mi] === k) m = mi++;
    if (pass && !pass[k]) continue;
    const fl = flags[k]!;
    const client = fl & 1;
    const bounce = fl >> 1;
    if (dim === 'page') {
      const v = visitor[k]!;
      for (let p = p0; p < pageAt; p++) {
        const id = pageId[p]!;
        let row = rowOf[id]!;
        if (row < 0) {
          if (row === SKIP) continue;
          row = rowOfId(id);
          grow();
          if (row === SKIP) continue;
        }
        const at = row * S;
        sums[at]! += client;
        sums[at + 3]! += pageViews[p]!;
        sums[at + 1]! += bounce;
        if (!client || !counting) continue;
        if (row < bitRows) bits[row]![v >>> 5]! |= 1 << (v & 31);
        else out.addVisitor(row, v);
      }
    } else if (dim === 'event') {
      for (let e = n0; e < nameAt; e++) {
        const row = rowOfId(nameId[e]!);
        grow();
        if (row === SKIP) continue;
        const at = row * S;
        const o = nameOrders[e]!;
        sums[at]! += client;
        sums[at + 4]! += nameCounts[e]!;
        sums[at + 5]! += o;
        if (o > 0 && m >= 0) money(row, m);
        if (client && counting) out.addVisitor(row, visitor[k]!);
      }
    }
  }
}
