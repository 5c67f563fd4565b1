import { ErrorReply } from '@trackmate/schema';
import { Types } from 'mongoose';
import { Type } from 'typebox';
import { TrackMateError } from './errors.js';

/** Pieces shared by the secret-key admin routes of triggers, webhooks and metrics. */
export const errorReplies = (...codes: number[]) => Object.fromEntries(codes.map((s) => [s, ErrorReply]));
export const EventName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'An event name' });
export const IdParams = Type.Object({ id: Type.String({ description: 'Id (24 hexadecimal characters)' }) });

export function parseId(id: string, what: string): Types.ObjectId {
  if (!/^[0-9a-f]{24}$/i.test(id)) throw new TrackMateError('TM_ERR_NOT_FOUND', { message: `No ${what} ${id}` });
  return new Types.ObjectId(id);
}

/** Outgoing URLs: http(s) only, no credentials in them. */
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
