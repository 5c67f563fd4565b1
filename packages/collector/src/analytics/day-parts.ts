import type { DayColumns } from './visit-columns.js';

/**
 * A day's share of a filtered query's rows, kept per day and query shape (filters, dimension, by value or day,
 * whether visitors are counted and which rows): its sums, money and each row's visitors (by process number, a
 * visitor's visits of the day once). A dashboard asks the same days with the same filters again and again (each
 * panel, each reload, each change of range that keeps most days), so a query over days it has parts for adds
 * their parts, a few thousand numbers a day, instead of scanning every visit that passes the filters again. A part
 * goes with its day's columns (a day whose records changed is new columns) and is made again when the process
 * numbers its visitors or strings anew. A shape's first ask scans the day as before and keeps nothing: parts
 * cost a scan about a third more, so they are made from the second ask on.
 */
export interface DayPart {
  /** the visitor numbers (visit-scan.ts' VisitorNumbers, compared by identity) and string numbers it was made with */
  numbers: object;
  strings: Map<string, number>;
  /** the rows: keys, their string numbers (-1: none, e.g. a day or `(none)`), SUMS by row */
  keys: string[];
  nos: Int32Array;
  sums: Float64Array;
  money: Array<{ revenue: number; byCurrency: Record<string, number> } | null>;
  /** each row's visitors: `visitors[start[r]…start[r + 1]]` (null when the query counts none) */
  start: Int32Array | null;
  visitors: Int32Array | null;
  /** the largest visitor number (-1: none) */
  top: number;
  bytes: number;
}

/** Parts kept a day (its last shapes asked) and in all: a 90-day aggregate's parts take ~5 MB at 15,600 visits a day. */
const PARTS_A_DAY = 8;
const PART_BYTES = 48 * 1048576;

const byDay = new WeakMap<DayColumns, Map<string, DayPart>>();
/** every part kept, oldest first, with where it is kept */
const held = new Map<DayPart, { cols: WeakRef<DayColumns>; key: string }>();
let heldBytes = 0;
let made = 0;

/** Shapes asked of a day without a part (the last 16): a part is made on a shape's second ask. */
const asked = new WeakMap<DayColumns, string[]>();
const ASKED_A_DAY = 16;

/** Whether this is the first ask of the shape for the day (noted: the next is not). */
export function firstAsk(cols: DayColumns, key: string): boolean {
  let keys = asked.get(cols);
  if (!keys) {
    keys = [];
    asked.set(cols, keys);
  }
  if (keys.includes(key)) return false;
  if (keys.length >= ASKED_A_DAY) keys.shift();
  keys.push(key);
  return true;
}

/** The day's part of this shape, if kept for these numbers. */
export function partOf(
  cols: DayColumns,
  key: string,
  numbers: object,
  strings: Map<string, number>,
): DayPart | undefined {
  const part = byDay.get(cols)?.get(key);
  return part && part.numbers === numbers && part.strings === strings ? part : undefined;
}

function drop(day: Map<string, DayPart> | undefined, key: string, part: DayPart): void {
  if (day?.get(key) === part) day.delete(key);
  if (held.delete(part)) heldBytes -= part.bytes;
}

/** Keeps a day's part, the day's and then the process's oldest going first. */
export function keepPart(cols: DayColumns, key: string, part: DayPart): void {
  let day = byDay.get(cols);
  if (!day) {
    day = new Map();
    byDay.set(cols, day);
  }
  const old = day.get(key);
  if (old) drop(day, key, old);
  if (day.size >= PARTS_A_DAY) {
    const [k, p] = day.entries().next().value!;
    drop(day, k, p);
  }
  made++;
  day.set(key, part);
  held.set(part, { cols: new WeakRef(cols), key });
  heldBytes += part.bytes;
  for (const [p, where] of held) {
    if (heldBytes <= PART_BYTES) break;
    const c = where.cols.deref();
    drop(c ? byDay.get(c) : undefined, where.key, p);
  }
}

/** Bytes of the parts kept, and how many were ever made (for tests and figures). */
export const partsKept = () => ({ bytes: heldBytes, made });
