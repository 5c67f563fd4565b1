import { isDocumentError, type WriteError, writeErrorsOf } from './write-errors.js';

/** Sends documents as one unordered insert (e.g. `Model.insertMany(docs, { ordered: false, lean: true })`). */
export type SendInsert<T> = (docs: T[]) => Promise<unknown>;

export interface InsertGroupOptions {
  /** Documents one grouped insert takes at most; callers beyond it wait for the next. */
  maxDocs?: number;
}

interface Waiting<T> {
  docs: T[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The part of a grouped insert's failure that is about one caller's documents, indexed into them. */
export class GroupedWriteError extends Error {
  readonly code: number | undefined;
  constructor(
    whole: unknown,
    readonly writeErrors: WriteError[],
  ) {
    super((whole as Error).message);
    this.name = (whole as Error).name ?? 'MongoBulkWriteError';
    this.code = writeErrors[0]?.code;
  }
}

/**
 * Group commit for unordered inserts into one collection. A call made while an earlier insert is in flight waits
 * for it, then goes to the database with every other call that waited meanwhile, as one insert. Each caller sees
 * the outcome of its own documents only, as if it had inserted them alone: it resolves when all of them were
 * inserted, and otherwise rejects with the write errors of its documents, indexed into its own list (duplicates
 * of an earlier attempt, refused documents). An error about the whole insert (the server away, a connection lost
 * mid-insert) rejects every caller; one about a document the driver could not send at all (a key BSON cannot
 * encode) sends each caller's documents again on their own, so that only that caller fails.
 *
 * Why: on FerretDB (SQLite) every insert is a write transaction, the database takes one writer at a time, and a
 * writer that finds it busy sleeps 1, 2, 5, 10… ms before trying again. Eight ingest jobs each inserting a few
 * events spent most of their time in those waits; one insert of their documents together is one transaction.
 * On MongoDB it saves round trips. A caller alone, with nothing in flight, is sent at once.
 */
export function insertGroup<T>(send: SendInsert<T>, { maxDocs = 5_000 }: InsertGroupOptions = {}) {
  let waiting: Array<Waiting<T>> = [];
  let inFlight = false;

  const next = () => {
    if (inFlight || !waiting.length) return;
    let count = 0;
    let take = 0;
    while (take < waiting.length && (take === 0 || count + waiting[take]!.docs.length <= maxDocs)) {
      count += waiting[take]!.docs.length;
      take++;
    }
    const group = waiting.slice(0, take);
    waiting = waiting.slice(take);
    inFlight = true;
    run(group).finally(() => {
      inFlight = false;
      next();
    });
  };

  const run = async (group: Array<Waiting<T>>) => {
    const docs = group.length === 1 ? group[0]!.docs : group.flatMap((w) => w.docs);
    try {
      await send(docs);
      for (const w of group) w.resolve();
    } catch (err) {
      settle(group, err);
    }
  };

  const settle = (group: Array<Waiting<T>>, err: unknown) => {
    const writeErrors = writeErrorsOf(err);
    if (group.length === 1) return group[0]!.reject(err);
    if (!writeErrors?.length) {
      // nothing says which documents: a lost connection concerns them all; a document the driver refused is
      // found by sending each caller's own documents on their own
      if (!writeErrors && isDocumentError(err)) {
        for (const w of group) send(w.docs).then(w.resolve, w.reject);
        return;
      }
      for (const w of group) w.reject(err);
      return;
    }
    let offset = 0;
    for (const w of group) {
      const end = offset + w.docs.length;
      const own = writeErrors
        .filter((e) => e.index >= offset && e.index < end)
        .map((e) => ({ index: e.index - offset, code: e.code, errmsg: e.errmsg }));
      if (own.length) w.reject(new GroupedWriteError(err, own));
      else w.resolve();
      offset = end;
    }
  };

  return (docs: T[]): Promise<void> => {
    if (!docs.length) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      waiting.push({ docs, resolve, reject });
      next();
    });
  };
}

interface InsertsMany<T> {
  insertMany(docs: T[], options: { ordered: false; lean: true }): Promise<unknown>;
}

const groups = new WeakMap<object, (docs: never[]) => Promise<void>>();

/** The process's insert group (insertGroup) of a model: its unordered, lean inserts grouped. */
export function groupedInsert<T>(model: InsertsMany<T>): (docs: T[]) => Promise<void> {
  let group = groups.get(model) as ((docs: T[]) => Promise<void>) | undefined;
  if (!group) {
    group = insertGroup<T>((docs) => model.insertMany(docs, { ordered: false, lean: true }));
    groups.set(model, group as (docs: never[]) => Promise<void>);
  }
  return group;
}
