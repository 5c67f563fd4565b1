import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, servesSecondaryIndexes } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
});
afterAll(async () => {
  await t?.close();
});

const keyOf = (key: object) => JSON.stringify(key);

describe('migrate: the indexes each server gets', () => {
  it('makes every schema index where the server reads through them, else the unique ones and drops its others', async () => {
    const models = t.app.models;
    // an index an earlier version made, and one the schema never had
    await models.Event.collection.createIndex({ siteId: 1, anonymousId: 1 });
    await models.Event.collection.createIndex({ 'properties.sku': 1 }, { name: 'made_by_hand' });
    await migrate(models);
    const names = async () => (await models.Event.collection.indexes()).map((i) => keyOf(i.key));
    const unique = models.Event.schema
      .indexes()
      .filter(([, o]) => o?.unique)
      .map(([k]) => keyOf(k));
    const all = models.Event.schema.indexes().map(([k]) => keyOf(k));
    expect(unique).toEqual([keyOf({ siteId: 1, messageId: 1 })]);
    const info = await t.db.admin().command({ buildInfo: 1 });
    if (await servesSecondaryIndexes(models.Event.db)) {
      // MongoDB (or FerretDB on PostgreSQL): every schema index, and what others made is left alone
      expect(await names()).toEqual(expect.arrayContaining([...all, keyOf({ 'properties.sku': 1 })]));
    } else {
      // FerretDB on SQLite, which answers only `_id` filters from an index: the schema's unique indexes, `_id`,
      // and the operator's own index (not the schema's to drop)
      expect(typeof info.ferretdbVersion).toBe('string');
      expect((await names()).sort()).toEqual([keyOf({ _id: 1 }), keyOf({ 'properties.sku': 1 }), ...unique].sort());
      // and the unique index still refuses a second copy of an event
      const doc = { siteId: t.site.siteId, messageId: 'index-plan-1', name: 'x', timestamp: new Date() };
      await models.Event.collection.insertOne({ ...doc });
      await expect(models.Event.collection.insertOne({ ...doc })).rejects.toMatchObject({ code: 11000 });
    }
  }, 60_000);
});
