/** Reading the errors of unordered bulk writes the same way on MongoDB and FerretDB. */

export interface WriteError {
  index: number;
  code?: number;
  errmsg?: string;
}

/** The per-document errors of a failed insertMany/bulkWrite, or undefined for any other failure. */
export function writeErrorsOf(err: unknown): WriteError[] | undefined {
  const writeErrors = (err as { writeErrors?: WriteError[] | WriteError } | null)?.writeErrors;
  if (!writeErrors) return undefined;
  return Array.isArray(writeErrors) ? writeErrors : [writeErrors];
}

export const isDuplicateKey = (err: unknown) => (err as { code?: number } | null)?.code === 11000;

/** The indexes of an unordered insertMany's duplicate-key failures; rethrows any other error. */
export function duplicateIndexes(err: unknown): number[] {
  const list = writeErrorsOf(err);
  if (!list?.length || list.some((w) => w.code !== 11000)) throw err;
  return list.map((w) => w.index);
}

/** For `.catch(ignoreDuplicates)` after an insert-if-absent. */
export const ignoreDuplicates = (err: unknown) => void duplicateIndexes(err);

/** Server error codes that say "try again later", not "this document is wrong". */
const TRANSIENT_CODES = new Set([6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * Whether a failed write was refused for what it holds (retrying the same document fails again: a key BSON
 * cannot encode, a document the server rejects), as opposed to the connection or the server being away.
 */
export function isDocumentError(err: unknown): boolean {
  if (writeErrorsOf(err)?.length) return true;
  if (err instanceof TypeError || err instanceof RangeError) return true;
  const e = err as { name?: string; code?: unknown; errorLabels?: string[] } | null;
  if (!e) return false;
  if (e.name === 'BSONError' || e.name === 'BSONVersionError' || e.name === 'MongoInvalidArgumentError') return true;
  return (
    e.name === 'MongoServerError' &&
    typeof e.code === 'number' &&
    !TRANSIENT_CODES.has(e.code) &&
    !(e.errorLabels?.length ?? 0)
  );
}

/**
 * Runs an upsert (or a bulk of them) again when its only failures are duplicate keys: two writers upserting
 * the same new key at once both try to insert, and the loser's second run finds the document and updates it.
 */
export async function retryUpsertRace<T>(write: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const errors = writeErrorsOf(err);
      const duplicate = errors ? errors.every((w) => w.code === 11000) : isDuplicateKey(err);
      if (attempt >= attempts || !duplicate) throw err;
    }
  }
}
