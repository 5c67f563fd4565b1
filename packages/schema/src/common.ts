import { type Static, Type } from 'typebox';
import { E164_PATTERN, EVENT_NAME_PATTERN, LIMITS, OBJECT_ID_PATTERN } from './limits.js';

export const Id = Type.String({ minLength: 1, maxLength: LIMITS.maxIdLength });
export const ObjectIdString = Type.String({ pattern: OBJECT_ID_PATTERN });
export const EventName = Type.String({ pattern: EVENT_NAME_PATTERN, maxLength: LIMITS.maxNameLength });
export const IsoDateTime = Type.String({ format: 'date-time', maxLength: 64 });
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Phone = Type.String({ pattern: E164_PATTERN, description: 'E.164, e.g. +911234567890' });
/** Free-form JSON object; keys are checked separately (see `findUnsafeKey`). */
export const FreeObject = Type.Record(Type.String(), Type.Unknown());
export type FreeObject = Static<typeof FreeObject>;

/** Your own id of a user (an account id, a customer number): a profile key beside the e-mail. */
export const UserId = Type.String({ minLength: 1, maxLength: 256 });
