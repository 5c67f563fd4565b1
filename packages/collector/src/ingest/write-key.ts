import type { FastifyRequest } from 'fastify';

/**
 * The write key of a track request: body `writeKey`, else `?writeKey=`, else the X-TrackMate-Key header. Only
 * strings count (a repeated `?writeKey=` parses as an array and is no key).
 */
export function writeKeyOf(request: FastifyRequest, body: unknown): string | undefined {
  const fromBody = body !== null && typeof body === 'object' ? (body as { writeKey?: unknown }).writeKey : undefined;
  const query = request.query as Record<string, unknown> | undefined;
  const header = request.headers['x-trackmate-key'];
  for (const candidate of [fromBody, query?.writeKey, header]) {
    if (typeof candidate === 'string' && candidate.trim()) return candidate.trim();
  }
  return undefined;
}
