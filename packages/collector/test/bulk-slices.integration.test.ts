import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bulkWriteInSlices, UPDATE_SLICE, writeErrorsOf } from '../src/models/index.js';
import { startTestApp, type TestApp } from './helpers/harness.js';

type Doc = { _id: number; k: number; v?: number; s?: string | number };

let t: TestApp;
let col: Collection<Doc>;
beforeAll(async () => {
  t = await startTestApp({ worker: false });
  col = t.db.collection<Doc>('bulk_slices_test');
});
afterAll(async () => {
  await col?.drop().catch(() => {});
  await t?.close();
});
beforeEach(async () => {
  await col.drop().catch(() => {});
  await col.createIndex({ k: 1 }, { unique: true });
  await col.insertMany(Array.from({ length: 12 }, (_, i) => ({ _id: i, k: i, s: 'x' })));
});

/** The collection's bulkWrite, recording the size of each command sent. */
const recording = () => {
  const sizes: number[] = [];
  return {
    sizes,
    bulkWrite: (ops: Array<AnyBulkWriteOperation<Doc>>, options: { ordered: boolean }) => {
      sizes.push(ops.length);
      return col.bulkWrite(ops, options);
    },
  };
};

const setV = (_id: number, v: number): AnyBulkWriteOperation<Doc> => ({
  updateOne: { filter: { _id }, update: { $set: { v } } },
});
// `s` holds a string: `$inc` of it is refused for that document (a write error)
const refused = (_id: number): AnyBulkWriteOperation<Doc> => ({
  updateOne: { filter: { _id }, update: { $inc: { s: 1 } } },
});

describe('bulkWriteInSlices (real MongoDB wire server)', () => {
  it(`sends a large bulk write as commands of at most ${UPDATE_SLICE} statements, every one applied`, async () => {
    const model = recording();
    await bulkWriteInSlices(
      model,
      Array.from({ length: 12 }, (_, i) => setV(i, i * 10)),
      { ordered: false },
    );
    expect(model.sizes.every((n) => n <= UPDATE_SLICE)).toBe(true);
    expect(model.sizes.reduce((a, b) => a + b, 0)).toBe(12);
    expect((await col.find({}).sort({ _id: 1 }).toArray()).map((d) => d.v)).toEqual(
      Array.from({ length: 12 }, (_, i) => i * 10),
    );
  });

  // FerretDB 1.24 stops an unordered update command at its first refused statement and reports it as the command's
  // first: within a slice only the failure is certain, so these cases look at whole slices
  it('unordered: sends every slice, then throws; the slices without a failure are applied whole', async () => {
    const ops = Array.from({ length: 12 }, (_, i) => (i === 5 ? refused(i) : setV(i, 1)));
    const model = recording();
    const err = await bulkWriteInSlices(model, ops, { ordered: false }).catch((e: unknown) => e);
    expect(writeErrorsOf(err)?.length).toBeGreaterThan(0);
    expect(model.sizes).toEqual([4, 4, 4]);
    const applied = (await col.find({ v: 1 }).toArray()).map((d) => d._id).sort((a, b) => a - b);
    expect(applied).toEqual(expect.arrayContaining([0, 1, 2, 3, 8, 9, 10, 11]));
    expect(applied).not.toContain(5);
  });

  it('ordered: stops at the slice that fails, nothing after it sent', async () => {
    const ops = Array.from({ length: 12 }, (_, i) => (i === 5 ? refused(i) : setV(i, 1)));
    const model = recording();
    const err = await bulkWriteInSlices(model, ops, { ordered: true }).catch((e: unknown) => e);
    expect(writeErrorsOf(err)?.length).toBeGreaterThan(0);
    expect(model.sizes).toEqual([4, 4]); // the third slice was never sent
    const applied = (await col.find({ v: 1 }).toArray()).map((d) => d._id).sort((a, b) => a - b);
    expect(applied).toEqual([0, 1, 2, 3, 4]);
  });
});
