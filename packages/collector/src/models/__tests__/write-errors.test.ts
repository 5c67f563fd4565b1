import { MongoBulkWriteError, MongoServerError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isDocumentError, writeErrorsOf } from '../write-errors.js';

describe('what a failed write says about its documents', () => {
  it('a bulk error listing no write errors (the server went away mid-insert) is not about a document', () => {
    const err = new MongoBulkWriteError(
      { message: 'connect ECONNREFUSED 127.0.0.1:27017', code: undefined, writeErrors: [] } as never,
      { insertedCount: 0, matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0 } as never,
    );
    expect(writeErrorsOf(err)).toEqual([]);
    expect(isDocumentError(err)).toBe(false);
  });

  it('a bulk error listing a write error is about that document', () => {
    const err = { name: 'MongoBulkWriteError', writeErrors: [{ index: 3, code: 2, errmsg: 'bad' }] };
    expect(writeErrorsOf(err)?.map((w) => w.index)).toEqual([3]);
    expect(isDocumentError(err)).toBe(true);
  });

  it('a server error with a code and no retry label is about the document; a network error is not', () => {
    expect(isDocumentError(new MongoServerError({ message: 'document too large', code: 10334 }))).toBe(true);
    expect(isDocumentError(Object.assign(new Error('connection closed'), { name: 'MongoNetworkError' }))).toBe(false);
  });
});
