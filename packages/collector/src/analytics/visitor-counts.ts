/**
 * Distinct visitors of closed roll-up rows, kept per process: a row's count over a range is its sketches merged
 * (PFCOUNT of its months' and days' HyperLogLogs, ~31 keys a row over 90 days), which Redis works out row by row
 * each time a breakdown is asked, 100 rows for a second page of pages. The count is kept with the sums it was
 * counted beside: the parsed block sums and runs the query read (stats-blocks.ts' parsedSum, one object per
 * text). The visit closer adds a visit's visitors to the sketches before it writes the blocks, so a row whose
 * sketches changed has new sums text, hence new objects, and is counted again; a count is never older than the
 * sums it is answered with. Rows with open visits, and sums too small to be kept parsed, are counted each time.
 */

/** A number per parsed sums object, so a kept count names what it was counted with without holding it. */
const ids = new WeakMap<object, number>();
let nextId = 1;
const idOf = (o: object) => {
  let id = ids.get(o);
  if (id === undefined) {
    id = nextId++;
    ids.set(o, id);
  }
  return id;
};

/** What a count was made with: the sums objects read, by number ('' when one of them is not kept parsed). */
export function versionOf(sums: object[]): string {
  return sums.map(idOf).join(',');
}

/** Counts kept (about 200 bytes each: 10 MB). */
const MAX_COUNTS = 50_000;
const counts = new Map<string, { version: string; visitors: number }>();

/**
 * A row's sketches named by their first and last: a range's sketches are its whole months' and its other days',
 * so the first and the last (site, dimension, value and the range's ends) name them all.
 */
const keyOf = (keys: string[]) => `${keys[0]}\u0000${keys.at(-1)}`;

/** The kept count of the sketches `keys`, if counted with the same sums. */
export function keptCount(keys: string[], version: string): number | undefined {
  const held = counts.get(keyOf(keys));
  return held?.version === version ? held.visitors : undefined;
}

export function keepCount(keys: string[], version: string, visitors: number): void {
  if (counts.size >= MAX_COUNTS) counts.clear();
  counts.set(keyOf(keys), { version, visitors });
}
