import type { Collection, Document } from 'mongodb';
import type { Model } from 'mongoose';

/** The driver collection behind a model, typed with its document (for `_id`s that are strings, not ObjectIds). */
export const rawCollection = <T extends Document>(model: Model<T>) => model.collection as unknown as Collection<T>;
