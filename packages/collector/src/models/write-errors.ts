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
