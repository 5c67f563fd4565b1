/**
 * Documents by `_id`, one point lookup per id, sent together. FerretDB 1.24 serves from an index only a filter
 * that is exactly `{ _id: <string or ObjectId> }`: `{ _id: { $in: [...] } }` — like `$or`, a second condition
 * beside `_id`, or any other field — reads every document of the collection, so its cost grows with what is
 * stored (docs/production.md, "Query shapes"). MongoDB serves both from the `_id` index; the point lookups cost
 * it round trips, not reads. Returns the documents found, in no particular order.
 */
export async function findEachById<I, D>(ids: Iterable<I>, find: (id: I) => PromiseLike<D | null>): Promise<D[]> {
  const found = await Promise.all(Array.from(ids, find));
  return found.filter((d): d is Awaited<D> => d !== null) as D[];
}
