import type { Model, QueryFilter } from 'mongoose';

/** Documents matched by one delete of a slice: FerretDB on SQLite binds every matched `_id` to one statement. */
export const DELETE_SLICE = 20_000;

/**
 * `deleteMany(filter)` for any number of matching documents, a slice at a time. FerretDB on SQLite deletes what
 * a `deleteMany` matches with one `DELETE … WHERE _id IN (…)` statement, which SQLite refuses beyond 32,766
 * values ("too many SQL variables"), so one delete of a person's 200,000 events fails whole. Each round reads the
 * `_id`s of up to DELETE_SLICE matching documents and deletes the matching documents between the least and the
 * greatest of them (documents are read in storage order, which follows their time-based ids, so the range holds
 * about those); should that range match too many, it deletes exactly the ids read, 1,000 at a time. Every round
 * deletes at least the documents it read, so it ends, and the result is the same as one `deleteMany`.
 */
export async function deleteInSlices<T>(
  model: Model<T>,
  filter: QueryFilter<T>,
  slice = DELETE_SLICE,
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = (await model.find(filter, { _id: 1 }).limit(slice).lean<Array<{ _id: unknown }>>())
      .map((d) => d._id)
      .sort(compareIds);
    if (!ids.length) return deleted;
    const range = { $and: [filter, { _id: { $gte: ids[0], $lte: ids[ids.length - 1] } }] } as QueryFilter<T>;
    try {
      deleted += (await model.deleteMany(range)).deletedCount;
    } catch (err) {
      if (!/too many SQL variables/i.test(String((err as Error)?.message))) throw err;
      for (let i = 0; i < ids.length; i += 1_000) {
        const page = { $and: [filter, { _id: { $in: ids.slice(i, i + 1_000) } }] } as QueryFilter<T>;
        deleted += (await model.deleteMany(page)).deletedCount;
      }
    }
    if (ids.length < slice) return deleted;
  }
}

/** Orders ids of one kind (ObjectIds, strings or numbers) as the server does. */
function compareIds(a: unknown, b: unknown): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
