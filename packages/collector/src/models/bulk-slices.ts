import { GroupedWriteError } from './insert-group.js';
import { type WriteError, writeErrorsOf } from './write-errors.js';

/** Update statements one command carries at most. */
export const UPDATE_SLICE = 4;
/** Sliced commands one process has in flight at once. */
const IN_FLIGHT = 8;

let running = 0;
const queued: Array<() => void> = [];
const acquire = (): Promise<void> => {
  if (running < IN_FLIGHT) {
    running++;
    return Promise.resolve();
  }
  return new Promise<void>((r) => queued.push(r));
};
const release = () => {
  const next = queued.shift();
  if (next) next();
  else running--;
};

interface BulkWrites<O> {
  bulkWrite(ops: O[], options: { ordered: boolean }): Promise<unknown>;
}

/**
 * A bulk write of updates (update, replace, upsert) sent as commands of at most UPDATE_SLICE statements, at most
 * 8 such commands in flight per process. FerretDB 1.24 (SQLite) keeps each statement's read of the collection
 * open, holding one of its 100 SQLite connections, until the whole command is done, and needs one more for each
 * statement's write: one command of ~100 statements, or several larger ones at once, took every connection and
 * stopped the server for good (every later command waited forever). On MongoDB it costs round trips only.
 * Ordered writes stop at the first slice that fails; unordered ones send every slice and then throw the first
 * failure, with the write errors of every slice indexed into `ops`. Resolves with the number of documents the
 * statements' filters matched (their sum over the slices).
 */
export async function bulkWriteInSlices<O>(model: BulkWrites<O>, ops: O[], { ordered }: { ordered: boolean }) {
  let failure: unknown;
  const errors: WriteError[] = [];
  let matched = 0;
  for (let at = 0; at < ops.length; at += UPDATE_SLICE) {
    await acquire();
    try {
      const result = await model.bulkWrite(ops.slice(at, at + UPDATE_SLICE), { ordered });
      matched += (result as { matchedCount?: number } | undefined)?.matchedCount ?? 0;
    } catch (err) {
      const listed = writeErrorsOf(err);
      if (!listed?.length || ordered) {
        if (listed?.length)
          throw new GroupedWriteError(
            err,
            listed.map((w) => ({ ...w, index: w.index + at })),
          );
        throw err; // the server or the connection: the rest would fail alike
      }
      failure ??= err;
      for (const w of listed) errors.push({ index: w.index + at, code: w.code, errmsg: w.errmsg });
    } finally {
      release();
    }
  }
  if (failure) throw new GroupedWriteError(failure, errors);
  return { matched };
}
