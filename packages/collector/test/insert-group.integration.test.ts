import type { Collection } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { groupedInsert, insertGroup, writeErrorsOf } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

let t: TestApp;
let col: Collection<{ k: number; v?: unknown }>;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
  col = t.db.collection('insert_group_test');
});
afterAll(async () => {
  await col?.drop().catch(() => {});
  await t?.close();
});
beforeEach(async () => {
  await col.drop().catch(() => {});
  await col.createIndex({ k: 1 }, { unique: true });
});

/** The outcome of each caller: 'ok', or its write errors as [index, code], or the error's name. */
const outcome = (p: Promise<void>) =>
  p.then(
    () => 'ok' as const,
    (err: unknown) => writeErrorsOf(err)?.map((w) => [w.index, w.code]) ?? (err as Error).name,
  );

const stored = async () => (await col.find({}).toArray()).map((d) => d.k).sort((a, b) => a - b);

describe('insertGroup (real MongoDB wire server)', () => {
  it('sends the calls made while an insert is in flight as one, and gives each caller its own duplicates', async () => {
    await col.insertMany([{ k: 2 }, { k: 5 }]);
    const sent: number[][] = [];
    const insert = insertGroup<{ k: number }>((docs) => {
      sent.push(docs.map((d) => d.k));
      return col.insertMany(docs, { ordered: false });
    });
    const results = await Promise.all([
      outcome(insert([{ k: 1 }, { k: 2 }, { k: 3 }])), // alone: nothing in flight
      outcome(insert([{ k: 4 }, { k: 5 }, { k: 6 }])), // these three wait for it, then go together
      outcome(insert([{ k: 7 }])),
      outcome(insert([{ k: 5 }, { k: 8 }])),
    ]);
    expect(sent).toEqual([
      [1, 2, 3],
      [4, 5, 6, 7, 5, 8],
    ]);
    // indexes into each caller's own documents: k=2 is the first caller's second, k=5 the second's second and
    // the fourth's first
    expect(results).toEqual([[[1, 11000]], [[1, 11000]], 'ok', [[0, 11000]]]);
    expect(await stored()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('sends each caller alone when the driver refuses a grouped insert for one document, so only its caller fails', async () => {
    const circular: { k: number; v?: unknown } = { k: 11 };
    circular.v = circular; // BSON cannot encode it: the driver throws before anything is sent
    const sent: number[] = [];
    const insert = insertGroup<{ k: number; v?: unknown }>((docs) => {
      sent.push(docs.length);
      return col.insertMany(docs, { ordered: false });
    });
    const results = await Promise.all([
      outcome(insert([{ k: 10 }])),
      outcome(insert([{ k: 12 }, circular])),
      outcome(insert([{ k: 13 }, { k: 14 }])),
    ]);
    expect(sent).toEqual([1, 4, 2, 2]); // alone; grouped and refused; then each caller on its own
    expect(results[0]).toBe('ok');
    expect(results[1]).toBe('BSONError');
    expect(results[2]).toBe('ok');
    expect(await stored()).toEqual([10, 13, 14]);
  });

  it('rejects every caller of a group with an error about the whole insert', async () => {
    const lost = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:27017'), {
      name: 'MongoBulkWriteError',
      writeErrors: [],
    });
    let calls = 0;
    const insert = insertGroup<{ k: number }>(async (docs) => {
      calls++;
      if (calls === 1) return col.insertMany(docs, { ordered: false });
      throw lost; // the server went away mid-insert: which documents were stored is unknown
    });
    const results = await Promise.all([
      outcome(insert([{ k: 20 }])),
      outcome(insert([{ k: 21 }])),
      outcome(insert([{ k: 22 }])),
    ]);
    expect(results).toEqual(['ok', [], []]);
    expect(calls).toBe(2);
  });

  it("is the model's group for the process: a model's concurrent inserts share one", async () => {
    const insert = groupedInsert(t.app.models.MetricsFolded);
    expect(groupedInsert(t.app.models.MetricsFolded)).toBe(insert);
    const ids = Array.from({ length: 30 }, (_, i) => `insert-group-test|${i}`);
    await Promise.all(ids.map((_id) => insert([{ _id, at: new Date() }])));
    // a repeat of ten of them: each caller is told of its own duplicate, the others go in
    const again = await Promise.all(
      [...ids.slice(0, 10), 'insert-group-test|30'].map((_id) => outcome(insert([{ _id, at: new Date() }]))),
    );
    expect(again).toEqual([...Array.from({ length: 10 }, () => [[0, 11000]]), 'ok']);
    expect(await t.app.models.MetricsFolded.countDocuments({ _id: { $regex: '^insert-group-test\\|' } })).toBe(31);
    await t.app.models.MetricsFolded.deleteMany({ _id: { $regex: '^insert-group-test\\|' } });
  });
});
