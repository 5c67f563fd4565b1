import type { VisitDims, VisitSummary } from '../models/index.js';
import { VISIT_DIMS } from './visit-summary.js';

/**
 * A day's closed visits as columns (visit-records.ts keeps them beside the day's records, and each process the
 * days it read): one typed array per figure, read straight from the bytes Redis returns, each as narrow as its
 * largest value allows (a channel fits a byte). Strings are in two dictionaries: the day's visitors (`visitor` is
 * an index into them) and every other string (dimension values first, so they get the small ids; id 0: none).
 * A filter reads the columns it names only, and a 90-day scan touches about 40 bytes a visit.
 *
 * Layout: uint32 header length, the header (JSON: format, version, visits, strings, visitors, currency maps and
 * the columns' names, types and lengths), then each column padded to 8 bytes. Host byte order (Redis and the
 * collector are on little-endian machines).
 *
 * Columns (`n` rows unless said): `visitor`; one per visit dimension (VISIT_DIMS, left out when no visit has a
 * value); `flags` (1: sent by a browser, 2: bounced); `pageviews`, `events`, `duration`, `orders`, `entry`, `exit`;
 * `pageCount` and the visits' pages one after the other (`pageId`, `pageViews`); `nameCount` and (`nameId`,
 * `nameCount_`, `nameOrders`); and the few visits with money: `moneyAt` (visit index, ascending), `moneyRevenue`,
 * `moneyCurrency` (1 + index into the currency maps, 0 for none).
 */

/** Format of the bytes; columns of another format (or none) are made again from the records. */
const FORMAT = 2;

type Column = Uint8Array | Uint16Array | Int32Array | Float64Array;
const TYPES = { u8: Uint8Array, u16: Uint16Array, i32: Int32Array, f64: Float64Array } as const;
type TypeName = keyof typeof TYPES;

interface Header {
  f: number;
  /** the tag the columns were made with (visit-records.ts: their number of records and a random part) */
  v: string;
  n: number;
  s: string[];
  w: string[];
  c: Array<Record<string, number>>;
  /** name, type, length */
  k: Array<[string, TypeName, number]>;
}

/** Integer columns as read; a dimension column absent from the bytes (no value that day) is undefined. */
export interface DayColumns {
  version: string;
  day: string;
  n: number;
  /** every string but visitors, id 0 for none */
  strings: string[];
  /** the day's distinct visitors, which `visitor` indexes */
  visitors: string[];
  currencies: Array<Record<string, number>>;
  cols: Record<string, Column | undefined>;
  /** bytes held */
  bytes: number;
}

/** The smallest integer column that holds every value of `xs` (none negative). */
function narrow(xs: ArrayLike<number>): [TypeName, Column] {
  let max = 0;
  for (let i = 0; i < xs.length; i++) if (xs[i]! > max) max = xs[i]!;
  const type: TypeName = max < 256 ? 'u8' : max < 65_536 ? 'u16' : 'i32';
  return [type, TYPES[type].from(xs)];
}

/** Columns of a day's visits, `version` the tag they are made with. */
export function buildColumns(
  unsorted: Array<{ visitor: string; dims: VisitDims; summary: VisitSummary }>,
  version: string,
): Buffer {
  // by visitor: a process numbers a day's visitors in this order (visit-scan.ts), so the scans that count
  // visitors over many days write each day's bits in a few ascending runs, not all over a 300,000-visitor set
  const visits = [...unsorted].sort((a, b) => (a.visitor < b.visitor ? -1 : a.visitor > b.visitor ? 1 : 0));
  const ids = new Map<string, number>();
  const strings: string[] = [''];
  const id = (s: string | null) => {
    if (s == null) return 0;
    let i = ids.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      ids.set(s, i);
    }
    return i;
  };
  const visitorIds = new Map<string, number>();
  const n = visits.length;
  const out: Array<[string, TypeName, Column]> = [];
  const add = (name: string, xs: ArrayLike<number>) => out.push([name, ...narrow(xs)]);
  add(
    'visitor',
    visits.map((v) => {
      let i = visitorIds.get(v.visitor);
      if (i === undefined) {
        i = visitorIds.size;
        visitorIds.set(v.visitor, i);
      }
      return i;
    }),
  );
  // dimension values first: they take the small ids, and their columns a byte a visit
  for (const d of VISIT_DIMS) {
    const xs = visits.map((v) => id((v.dims as unknown as Record<string, string | null>)[d] ?? null));
    if (xs.some((x) => x)) add(d, xs);
  }
  add(
    'flags',
    visits.map((v) => (v.summary.client ? 1 : 0) | (v.summary.bounce ? 2 : 0)),
  );
  for (const k of ['pageviews', 'events', 'duration', 'orders'] as const)
    add(
      k,
      visits.map((v) => v.summary[k]),
    );
  add(
    'entry',
    visits.map((v) => id(v.summary.entryPage)),
  );
  add(
    'exit',
    visits.map((v) => id(v.summary.exitPage)),
  );
  const pageId: number[] = [];
  const pageViews: number[] = [];
  const nameId: number[] = [];
  const nameCount: number[] = [];
  const nameOrders: number[] = [];
  const moneyAt: number[] = [];
  const moneyRevenue: number[] = [];
  const moneyCurrency: number[] = [];
  const currencies: Array<Record<string, number>> = [];
  visits.forEach((v, k) => {
    const s = v.summary;
    for (const p of s.pages) {
      pageId.push(id(p.page));
      pageViews.push(p.views);
    }
    for (const e of s.names) {
      nameId.push(id(e.name));
      nameCount.push(e.count);
      nameOrders.push(e.orders);
    }
    const hasCurrency = Object.keys(s.revenueByCurrency).length > 0;
    if (s.revenue !== 0 || hasCurrency) {
      moneyAt.push(k);
      moneyRevenue.push(s.revenue);
      if (hasCurrency) currencies.push(s.revenueByCurrency);
      moneyCurrency.push(hasCurrency ? currencies.length : 0);
    }
  });
  add(
    'pageCount',
    visits.map((v) => v.summary.pages.length),
  );
  add('pageId', pageId);
  add('pageViews', pageViews);
  add(
    'nameCount',
    visits.map((v) => v.summary.names.length),
  );
  add('nameId', nameId);
  add('nameCount_', nameCount);
  add('nameOrders', nameOrders);
  out.push(['moneyAt', 'i32', Int32Array.from(moneyAt)], ['moneyRevenue', 'f64', Float64Array.from(moneyRevenue)]);
  add('moneyCurrency', moneyCurrency);
  const header: Header = {
    f: FORMAT,
    v: version,
    n,
    s: strings,
    w: [...visitorIds.keys()],
    c: currencies,
    k: out.map(([name, type, xs]) => [name, type, xs.length]),
  };
  const head = Buffer.from(JSON.stringify(header));
  const pad = (x: number) => Math.ceil(x / 8) * 8;
  const start = pad(4 + head.length);
  const buf = Buffer.alloc(start + out.reduce((sum, [, , xs]) => sum + pad(xs.byteLength), 0));
  buf.writeUInt32LE(head.length, 0);
  head.copy(buf, 4);
  let at = start;
  for (const [, , xs] of out) {
    Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength).copy(buf, at);
    at += pad(xs.byteLength);
  }
  return buf;
}

/** The columns in `buf`, or null when they are of another format (made again from the records). */
export function readColumns(buf: Buffer, day: string): DayColumns | null {
  const len = buf.readUInt32LE(0);
  if (len + 4 > buf.length) return null;
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', 4, 4 + len)) as Header;
  } catch {
    return null;
  }
  if (header.f !== FORMAT) return null;
  const pad = (x: number) => Math.ceil(x / 8) * 8;
  const start = pad(4 + len);
  // the typed arrays need aligned offsets, and a process keeps them: a reply that is part of a larger buffer
  // (unaligned, or holding other bytes) is copied
  let ab = buf.buffer as ArrayBuffer;
  let at = buf.byteOffset + start;
  if (at % 8 || ab.byteLength > buf.length) {
    ab = new ArrayBuffer(buf.length - start);
    new Uint8Array(ab).set(buf.subarray(start));
    at = 0;
  }
  const cols: Record<string, Column> = {};
  for (const [name, type, length] of header.k) {
    cols[name] = new TYPES[type](ab, at, length);
    at += pad(length * TYPES[type].BYTES_PER_ELEMENT);
  }
  return {
    version: header.v,
    day,
    n: header.n,
    strings: header.s,
    visitors: header.w,
    currencies: header.c,
    cols,
    bytes: ab.byteLength + 16 * (header.s.length + header.w.length),
  };
}
