import { type DayPart, firstAsk, keepPart, partOf } from './day-parts.js';
import type { DayColumns } from './visit-columns.js';
import { type Counts, NONE, VISIT_DIMS, zero } from './visit-summary.js';

/**
 * Filtered stats from the days' columns (visit-columns.ts): each day's visits that pass every filter are summed
 * into rows, as rowsOfVisit splits a visit, and their visitors counted exactly over the whole range. Visitors
 * are numbered once per process (the same number in every day it holds), so counting them over 90 days adds
 * integers: a bitset per row for the rows first seen (4 MB of them, at least 32 rows; a few of them fit a
 * processor's cache), (row, visitor) pairs sorted once for the rest (a long tail of pages). A breakdown scans
 * twice (ScanOptions): the sums of every row without visitors, then the visitors of the rows its page shows.
 * A day is scanned into a part of its own (its rows' sums and distinct visitors), which day-parts.ts keeps, and
 * the parts are added up: a query asked again adds the kept parts without scanning.
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

/** Every string of the days a process holds, numbered once per process (scanDay's stringNumbersOf). */
let stringNumbers = new Map<string, number>();
const MAX_STRINGS = 1_000_000;

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
  /** rows that have visitors, and those whose only visitors so far are one day part's row (not counted yet) */
  private readonly seen: boolean[] = [];
  private readonly pending: Array<{ part: DayPart; r: number } | undefined> = [];
  readonly bitRows: number;
  private words: number;
  private pairRows = new Int32Array(4096);
  private pairVisitors = new Int32Array(4096);
  private pairs = 0;
  /** whether visitors are counted (a scan that leaves them out does not call addVisitor) */
  readonly counting: boolean;
  readonly only: ReadonlySet<string> | undefined;
  /** The process's string numbers this query uses (scanDay's stringNumbersOf) */
  readonly stringNumbers: Map<string, number>;
  /** Rows by string number, -1 for not looked up yet: a day's string finds its row without hashing. */
  private byNumber = new Int32Array(0);
  /** What a day's share of these rows depends on besides the day and its filters (day-parts.ts' key). */
  private shape: string | undefined;

  /** `dayOf`: rows of one day's share of that query's rows (visitors as pairs, day-parts.ts keeps them). */
  constructor(
    readonly numbers: VisitorNumbers,
    bitsetBytes = BITSET_BYTES,
    options: ScanOptions = {},
    dayOf?: ScanRows,
  ) {
    this.words = (numbers.size >>> 5) + 1;
    this.bitRows = dayOf ? 0 : Math.max(32, Math.floor(bitsetBytes / (this.words * 4)));
    this.counting = options.visitors ?? true;
    this.only = options.only;
    // past this many strings the numbers start again (the days held are numbered again when next scanned)
    if (!dayOf && stringNumbers.size > MAX_STRINGS) stringNumbers = new Map();
    this.stringNumbers = dayOf ? dayOf.stringNumbers : stringNumbers;
  }

  /** Makes room for `n` (row, visitor) pairs at once. */
  reservePairs(n: number): void {
    if (n <= this.pairRows.length) return;
    this.pairRows = new Int32Array(n);
    this.pairVisitors = new Int32Array(n);
  }

  /** A tag per visitor number, for the day parts this query makes (toPart). */
  private scratch: { tags: Int32Array; tag: number } | undefined;
  scratchTags(): { tags: Int32Array; tag: number } {
    if (!this.scratch || this.scratch.tags.length < this.numbers.size)
      this.scratch = { tags: new Int32Array(this.numbers.size + 1024), tag: 0 };
    return this.scratch;
  }

  /** Whether visitors are counted and which rows are made, as a key. */
  get rowsKey(): string {
    this.shape ??= `${this.counting ? 1 : 0}${this.only ? `\u0000${[...this.only].sort().join('\u0000')}` : ''}`;
    return this.shape;
  }

  /** A day's rows (made by a ScanRows `dayOf` this one) as a DayPart: its sums, money and visitors by row. */
  toPart(scratch: { tags: Int32Array; tag: number }): DayPart {
    const rows = this.keys.length;
    const nos = new Int32Array(rows);
    this.keys.forEach((k, i) => {
      nos[i] = this.stringNumbers.get(k) ?? -1;
    });
    const money = this.money.map((c) =>
      c.revenue || Object.keys(c.revenueByCurrency).length
        ? { revenue: c.revenue, byCurrency: c.revenueByCurrency }
        : null,
    );
    let start: Int32Array | null = null;
    let visitors: Int32Array | null = null;
    if (this.counting) {
      // the pairs grouped by row (a counting sort), each row's distinct visitors told apart by a tag per visitor
      start = new Int32Array(rows + 1);
      for (let p = 0; p < this.pairs; p++) start[this.pairRows[p]! + 1]!++;
      for (let r = 0; r < rows; r++) start[r + 1]! += start[r]!;
      const at = start.slice(0, -1);
      // one row (the totals, a day of a timeseries): the pairs are in its order already
      const all = rows === 1 ? this.pairVisitors : new Int32Array(this.pairs);
      if (rows === 1) at[0] = this.pairs;
      else for (let p = 0; p < this.pairs; p++) all[at[this.pairRows[p]!]!++] = this.pairVisitors[p]!;
      visitors = new Int32Array(this.pairs);
      let n = 0;
      for (let r = 0; r < rows; r++) {
        const from = start[r]!;
        start[r] = n;
        const tag = ++scratch.tag;
        const { tags } = scratch;
        for (let p = from; p < at[r]!; p++) {
          const v = all[p]!;
          if (tags[v] !== tag) {
            tags[v] = tag;
            visitors[n++] = v;
          }
        }
      }
      start[rows] = n;
      visitors = visitors.slice(0, n);
    }
    let top = -1;
    if (visitors) for (let p = 0; p < visitors.length; p++) if (visitors[p]! > top) top = visitors[p]!;
    return {
      numbers: this.numbers,
      strings: this.stringNumbers,
      keys: this.keys,
      nos,
      sums: this.sums.slice(0, rows * S),
      money,
      start,
      visitors,
      top,
      bytes: 64 + rows * (8 * S + 48) + (visitors ? visitors.byteLength + start!.byteLength : 0),
    };
  }

  /** Adds a day's part (made for these rows' numbers) as scanning the day again would. */
  addPart(part: DayPart): void {
    const { keys, nos, money, visitors } = part;
    for (let r = 0; r < keys.length; r++) {
      const no = nos[r]!;
      const i = no >= 0 ? this.rowOfNumber(no, keys[r]!) : this.row(keys[r]!);
      if (i === SKIP) continue;
      const sums = this.sums;
      for (let j = 0; j < S; j++) sums[i * S + j]! += part.sums[r * S + j]!;
      const m = money[r];
      if (m) addMoney(this.money[i]!, m.revenue, m.byCurrency);
      if (!this.counting || !visitors) continue;
      // a row's first part is held as it is: a row of one part (a day's row of a timeseries) needs no bitset
      if (!this.seen[i]) {
        this.seen[i] = true;
        this.pending[i] = { part, r };
      } else {
        this.settle(i);
        this.addVisitors(i, part, r);
      }
    }
  }

  /** Counts the row's pending part's visitors (it now has more). */
  private settle(i: number): void {
    const held = this.pending[i];
    if (!held) return;
    this.pending[i] = undefined;
    this.addVisitors(i, held.part, held.r);
  }

  private addVisitors(i: number, part: DayPart, r: number): void {
    const visitors = part.visitors!;
    const end = part.start![r + 1]!;
    if (i < this.bitRows && part.top >>> 5 < this.words) {
      this.bits[i] ??= new Uint32Array(this.words);
      const bits = this.bits[i]!;
      for (let p = part.start![r]!; p < end; p++) {
        const v = visitors[p]!;
        bits[v >>> 5]! |= 1 << (v & 31);
      }
    } else for (let p = part.start![r]!; p < end; p++) this.addVisitor(i, visitors[p]!);
  }

  /** The row of string number `no` (whose text is `key`), as row(key). */
  rowOfNumber(no: number, key: string): number {
    if (no >= this.byNumber.length) {
      const grown = new Int32Array(Math.max(no + 1, this.byNumber.length * 2, 1024)).fill(-1);
      grown.set(this.byNumber);
      this.byNumber = grown;
    }
    let i = this.byNumber[no]!;
    if (i === -1) {
      i = this.row(key);
      this.byNumber[no] = i;
    }
    return i;
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
    if (!this.seen[row]) this.seen[row] = true;
    else if (this.pending[row]) this.settle(row);
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
      this.bits[row] ??= new Uint32Array(this.words);
      this.bits[row]![w]! |= 1 << (visitor & 31);
      return;
    }
    this.addPair(row, visitor);
  }

  /** Notes a (row, visitor) pair, counted in result() (rows past the bitsets', and every row of a day's part). */
  addPair(row: number, visitor: number): void {
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
    this.pending.forEach((held, row) => {
      if (held) visitors[row] = held.part.start![held.r + 1]! - held.part.start![held.r]!;
    });
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
 * Which of the day's visits pass the filters, as their ascending indexes, kept with the day for its last few sets
 * of filters (a filtered dashboard asks each day once per panel with the same filters; a page filter reads every
 * page of every visit): a scan then visits only those, not every visit of the day. 4 bytes a passing visit.
 */
const lists = new WeakMap<DayColumns, Map<string, Int32Array>>();
const LISTS_A_DAY = 4;

/** The day's visits that pass every filter, by index (null: all of them). */
function passing(cols: DayColumns, filters: ColumnFilter[]): Int32Array | null {
  if (!filters.length) return null;
  let held = lists.get(cols);
  if (!held) {
    held = new Map();
    lists.set(cols, held);
  }
  const key = JSON.stringify(filters.map((f) => [f.dim, f.op, f.value]));
  let list = held.get(key);
  if (!list) {
    const pass = mask(cols, filters);
    let count = 0;
    for (let k = 0; k < cols.n; k++) count += pass[k]!;
    list = new Int32Array(count);
    let at = 0;
    for (let k = 0; k < cols.n; k++) if (pass[k]) list[at++] = k;
    if (held.size >= LISTS_A_DAY) held.delete(held.keys().next().value!);
    held.set(key, list);
  }
  return list;
}

/** Where each visit's pages and event names start in their columns (n + 1 offsets each), made once per day. */
const offsets = new WeakMap<DayColumns, { pages: Int32Array; names: Int32Array }>();
function offsetsOf(cols: DayColumns): { pages: Int32Array; names: Int32Array } {
  let o = offsets.get(cols);
  if (!o) {
    const c = cols.cols as Record<string, Ints>;
    const pages = new Int32Array(cols.n + 1);
    const names = new Int32Array(cols.n + 1);
    for (let k = 0; k < cols.n; k++) {
      pages[k + 1] = pages[k]! + c.pageCount![k]!;
      names[k + 1] = names[k]! + c.nameCount![k]!;
    }
    o = { pages, names };
    offsets.set(cols, o);
  }
  return o;
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
  // the day's share of the rows, as kept (day-parts.ts) or made now and kept
  const key = `${JSON.stringify(filters.map((f) => [f.dim, f.op, f.value]))}\u0001${dim}\u0001${by}\u0001${out.rowsKey}`;
  let part = partOf(cols, key, out.numbers, out.stringNumbers);
  if (!part && firstAsk(cols, key)) {
    // a shape asked once is scanned straight into the rows; the second ask makes and keeps its part
    scanDayInto(cols, visitor, filters, dim, by, out);
    return;
  }
  if (!part) {
    const day = new ScanRows(out.numbers, 0, { visitors: out.counting, only: out.only }, out);
    // room for a pair per passing visit (a page breakdown's visits add one per page: it grows past that)
    if (out.counting) day.reservePairs(passing(cols, filters)?.length ?? cols.n);
    scanDayInto(cols, visitor, filters, dim, by, day);
    part = day.toPart(out.scratchTags());
    keepPart(cols, key, part);
  }
  out.addPart(part);
}

/** Adds the day's visits that pass every filter to `out` (scanDay, without the day's parts). */
function scanDayInto(
  cols: DayColumns,
  visitor: Int32Array,
  filters: ColumnFilter[],
  dim: string,
  by: 'value' | 'day',
  out: ScanRows,
): void {
  const c = cols.cols as Record<string, Ints | undefined>;
  const list = passing(cols, filters);
  // how a visit adds to the rows: whole (the totals, a visit's own dimension, its entry or exit page), per page,
  // per event name
  const isVisitDim = (VISIT_DIMS as readonly string[]).includes(dim);
  const entryExit = dim === 'entryPage' || dim === 'exitPage';
  // by day, or the totals: every visit's row is one (string id 0's)
  const oneRow = by === 'day' || dim === 'all';
  const dimCol = oneRow
    ? undefined
    : dim === 'entryPage'
      ? c.entry
      : dim === 'exitPage'
        ? c.exit
        : isVisitDim
          ? c[dim]
          : undefined;
  // this day's string ids → the query's rows, looked up once each (-1: not yet); rows are made when a visit adds to them
  const rowOf = new Int32Array(cols.strings.length).fill(-1);
  const day = { cols, visitor, list, rowOf, oneRow, byDay: by === 'day', out };
  if (dim === 'all' || isVisitDim || entryExit) scanWhole(day, dimCol, entryExit);
  else if (dim === 'page') scanPages(day);
  else if (dim === 'event') scanNames(day);
}

/** What the scans of one day share. */
interface DayScan {
  cols: DayColumns;
  visitor: Int32Array;
  /** the passing visits (null: all) */
  list: Int32Array | null;
  rowOf: Int32Array;
  oneRow: boolean;
  byDay: boolean;
  out: ScanRows;
}

/**
 * Every string of the days a process holds (dimension values, pages, event names: a few thousand), numbered once
 * per process, and each day's string ids by those numbers, made once per day: a query then finds a day's rows by
 * number, not by hashing each day's copy of the same strings (90 days × a thousand pages, twice a breakdown).
 */
const numberedStrings = new WeakMap<DayColumns, { numbers: Map<string, number>; of: Int32Array }>();
function stringNumbersOf(cols: DayColumns, numbers: Map<string, number>): Int32Array {
  const held = numberedStrings.get(cols);
  if (held?.numbers === numbers) return held.of;
  const of = new Int32Array(cols.strings.length);
  cols.strings.forEach((x, i) => {
    let no = numbers.get(x);
    if (no === undefined) {
      no = numbers.size;
      numbers.set(x, no);
    }
    of[i] = no;
  });
  numberedStrings.set(cols, { numbers, of });
  return of;
}

/** The row of a day's string id, made (or SKIP) on first sight: the scans' slow path, once per id and day. */
function rowOfId(d: DayScan, id: number): number {
  const { out, cols } = d;
  const row = d.oneRow
    ? out.row(d.byDay ? cols.day : '')
    : id
      ? out.rowOfNumber(stringNumbersOf(cols, out.stringNumbers)[id]!, cols.strings[id]!)
      : out.row(NONE);
  d.rowOf[id] = row;
  return row;
}

/** Adds the day's money of visit `m` (index into the money columns) to a row. */
function addDayMoney(d: DayScan, row: number, m: number): void {
  const c = d.cols.cols;
  const cur = c.moneyCurrency![m]!;
  addMoney(d.out.money[row]!, c.moneyRevenue![m]!, cur ? d.cols.currencies[cur - 1] : undefined);
}

/** One row a visit: the totals, a visit's own dimension, its entry or exit page. */
function scanWhole(d: DayScan, dimCol: Ints | undefined, entryExit: boolean): void {
  const c = d.cols.cols as Record<string, Ints>;
  const { list, rowOf, out, visitor } = d;
  const flags = c.flags!;
  const duration = c.duration!;
  const pageviews = c.pageviews!;
  const events = c.events!;
  const orders = c.orders!;
  const moneyAt = c.moneyAt!;
  const { counting } = out;
  let sums = out.sums;
  const n = list ? list.length : d.cols.n;
  let mi = 0;
  for (let i = 0; i < n; i++) {
    const k = list ? list[i]! : i;
    while (mi < moneyAt.length && moneyAt[mi]! < k) mi++;
    const fl = flags[k]!;
    const client = fl & 1;
    if (entryExit && !client) continue;
    const id = dimCol ? dimCol[k]! : 0;
    let row = rowOf[id]!;
    if (row < 0) {
      if (row === SKIP) continue;
      row = rowOfId(d, id);
      if (row === SKIP) continue;
      sums = out.sums;
    }
    const at = row * S;
    sums[at]! += client;
    sums[at + 1]! += fl >> 1;
    sums[at + 2]! += duration[k]!;
    sums[at + 3]! += pageviews[k]!;
    sums[at + 4]! += events[k]!;
    sums[at + 5]! += orders[k]!;
    if (moneyAt[mi] === k) addDayMoney(d, row, mi);
    if (client && counting) {
      out.addVisitor(row, visitor[k]!);
    }
  }
}

/** A row per page a visit viewed: the loop the filtered page breakdowns spend their time in. */
function scanPages(d: DayScan): void {
  const c = d.cols.cols as Record<string, Ints>;
  const { list, rowOf, out, visitor } = d;
  const flags = c.flags!;
  const pageId = c.pageId!;
  const pageViews = c.pageViews!;
  const start = offsetsOf(d.cols).pages;
  const { counting } = out;
  let sums = out.sums;
  const n = list ? list.length : d.cols.n;
  for (let i = 0; i < n; i++) {
    const k = list ? list[i]! : i;
    const fl = flags[k]!;
    const client = fl & 1;
    const bounce = fl >> 1;
    const v = visitor[k]!;
    const end = start[k + 1]!;
    for (let p = start[k]!; p < end; p++) {
      const id = pageId[p]!;
      let row = rowOf[id]!;
      if (row < 0) {
        if (row === SKIP) continue;
        row = rowOfId(d, id);
        if (row === SKIP) continue;
        sums = out.sums;
      }
      const at = row * S;
      sums[at]! += client;
      sums[at + 1]! += bounce;
      sums[at + 3]! += pageViews[p]!;
      if (client && counting) out.addVisitor(row, v);
    }
  }
}

/** A row per event name a visit sent. */
function scanNames(d: DayScan): void {
  const c = d.cols.cols as Record<string, Ints>;
  const { list, rowOf, out, visitor } = d;
  const flags = c.flags!;
  const nameId = c.nameId!;
  const nameCounts = c.nameCount_!;
  const nameOrders = c.nameOrders!;
  const moneyAt = c.moneyAt!;
  const start = offsetsOf(d.cols).names;
  const n = list ? list.length : d.cols.n;
  let mi = 0;
  for (let i = 0; i < n; i++) {
    const k = list ? list[i]! : i;
    while (mi < moneyAt.length && moneyAt[mi]! < k) mi++;
    const client = flags[k]! & 1;
    for (let e = start[k]!; e < start[k + 1]!; e++) {
      const id = nameId[e]!;
      let row = rowOf[id]!;
      if (row < 0) {
        if (row === SKIP) continue;
        row = rowOfId(d, id);
        if (row === SKIP) continue;
      }
      const at = row * S;
      const o = nameOrders[e]!;
      out.sums[at]! += client;
      out.sums[at + 4]! += nameCounts[e]!;
      out.sums[at + 5]! += o;
      if (o > 0 && moneyAt[mi] === k) addDayMoney(d, row, mi);
      if (client && out.counting) out.addVisitor(row, visitor[k]!);
    }
  }
}
