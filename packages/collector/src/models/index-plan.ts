import type { Connection, Model, mongo } from 'mongoose';

/**
 * Whether the server answers filters from secondary indexes. FerretDB 1.x on SQLite answers every filter but
 * `{ _id: … }` by reading the whole collection (its explain says `filterPushdown: false`), so there a secondary
 * index serves nothing but uniqueness, while each insert and update evaluates its expressions over the
 * document's JSON: the non-unique indexes of `events` took a third of FerretDB's CPU per stored event.
 * MongoDB, and FerretDB on PostgreSQL, do use them. Asked once per migration: `buildInfo`, then the explain of an
 * equality filter on a field other than `_id`.
 */
export async function servesSecondaryIndexes(conn: Connection): Promise<boolean> {
  const db = conn.db;
  if (!db) throw new Error('the database connection is not open');
  const info = await db.admin().command({ buildInfo: 1 });
  if (typeof info.ferretdbVersion !== 'string') return true;
  // a server that cannot explain keeps every index, as before this was asked
  const plan = await db
    .collection('settings')
    .find({ probe: 1 })
    .explain()
    .catch(() => null);
  return (plan as { filterPushdown?: unknown } | null)?.filterPushdown !== false;
}

/**
 * A model's indexes where the server cannot read through secondary ones: its unique indexes only (they enforce
 * exactly-once storage and one profile per key). Its other indexes, made by an earlier version, are dropped;
 * indexes the schema does not name (an operator's own) are left alone.
 */
export async function createUniqueIndexes(model: Model<unknown>): Promise<void> {
  const secondary = new Set<string>();
  for (const [fields, options] of model.schema.indexes()) {
    if (options?.unique)
      await model.collection.createIndex(fields as mongo.IndexSpecification, options as mongo.CreateIndexesOptions);
    else secondary.add(JSON.stringify(fields));
  }
  for (const index of await model.collection.indexes())
    if (index.name && !index.unique && secondary.has(JSON.stringify(index.key)))
      await model.collection.dropIndex(index.name);
}
