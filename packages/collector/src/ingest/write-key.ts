import type { FastifyRequest } from 'fastify';
import { TrackMateError } from '../errors.js';

/**
 * The write key of a track request: body `writeKey`, else `?writeKey=`, else the X-TrackMate-Key header. Only
 * strings count; a repeated `?writeKey=` (parsed as an array) is a 400.
 */
export function writeKeyOf(request: FastifyRequest, body: unknown): string | undefined {
  if (Array.isArray((request.query as Record<string, unknown> | undefined)?.writeKey)) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: '?writeKey= is given more than once' });
  }
  const fromBody = body !== null && typeof body === 'object' ? (body as { writeKey?: unknown }).writeKey : undefined;
  const query = request.query as Record<string, unknown> | undefined;
  const header = request.headers['x-trackmate-key'];
  for (const candidate of [fromBody, query?.writeKey, header]) {
    if (typeof candidate === 'string' && candidate.trim()) return candidate.trim();
  }
  return undefined;
}
