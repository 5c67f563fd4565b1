import { TrackMateError } from '../../errors.js';

/**
 * The write key of `Authorization: Basic base64(writeKey + ":")`, as Segment's libraries send it (the key is the
 * user, the password is empty); undefined without a Basic header.
 */
export function segmentKeyOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=_-]{1,400})\s*$/i.exec(authorization);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = (colon === -1 ? decoded : decoded.slice(0, colon)).trim();
  if (!user) throw new TrackMateError('TM_ERR_MISSING_KEY');
  return user;
}
