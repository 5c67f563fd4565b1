import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorReply, OBJECT_ID_PATTERN } from '@trackmate/schema';
import { type Model, Types } from 'mongoose';
import { type TSchema, Type } from 'typebox';
import { TrackMateError } from './errors.js';

/**
 * What every feature's routes are built from: typed route plugins (TypeBox provider, so `request.body`,
 * `params` and `query` carry their schema's type), error replies for the OpenAPI document, ids and pages.
 */
export type Routes<Options extends Record<never, never> = Record<never, never>> = FastifyPluginAsyncTypebox<Options>;

/**
 * OpenAPI replies for the given error statuses. Typed as plain schemas so that a route's own reply type comes
 * from its 2xx schema (or is free where it has none), not from the error shape.
 */
export const errorReplies = (...codes: number[]): Record<number, TSchema> =>
  Object.fromEntries(codes.map((s) => [s, ErrorReply]));

export const EventName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'An event name' });

/** `:id` path parameters; checked by parseId so that a bad id is a 400 that says what an id looks like. */
export const IdParams = Type.Object({
  id: Type.String({ maxLength: 64, description: 'Id (24 hexadecimal characters)' }),
});

/** `?limit=`: a string of digits, parsed by parseLimit. */
export const Limit = Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: '1–200, default 50' }));

const OBJECT_ID = new RegExp(OBJECT_ID_PATTERN);

/** A path or query id as an ObjectId, or a 400 (the same answer on every route). */
export function parseId(value: string, what = 'id'): Types.ObjectId {
  if (!OBJECT_ID.test(value)) {
    throw new TrackMateError('TM_ERR_INVALID_ID', {
      message: `"${value.slice(0, 64)}" is not a ${what}: ids are 24 hexadecimal characters`,
    });
  }
  return new Types.ObjectId(value);
}

/** `?limit=`: 1–max, default `fallback`. */
export function parseLimit(value: string | undefined, fallback = 50, max = 200): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `limit must be an integer from 1 to ${max}` });
  }
  return n;
}

/** Outgoing URLs (webhooks, trigger actions): http(s) only, no credentials in them. */
export function checkOutgoingUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `Not a URL: ${raw}` });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'A webhook URL must start with http:// or https://' });
  }
  if (url.username || url.password) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', {
      message: 'A webhook URL may not contain credentials; use the signing secret',
    });
  }
  return url.toString();
}

/**
 * Loads one document of a site by a path id: a bad id is a 400, another site's document answers exactly as a
 * missing one (404 naming `what`).
 */
export function siteScoped<T>(model: Model<T>, what: string) {
  return async (siteId: Types.ObjectId, id: string | Types.ObjectId): Promise<T> => {
    const _id = typeof id === 'string' ? parseId(id, `${what} id`) : id;
    const doc = await model.findOne({ _id, siteId }).lean();
    if (!doc) throw new TrackMateError('TM_ERR_NOT_FOUND', { message: `No ${what} ${_id.toHexString()}` });
    return doc;
  };
}

/** The site an authenticated (secret-key) request belongs to, as an ObjectId. */
export function siteIdOf(request: { site?: { id: string } }): Types.ObjectId {
  if (!request.site) throw new TrackMateError('TM_ERR_MISSING_SECRET');
  return new Types.ObjectId(request.site.id);
}
