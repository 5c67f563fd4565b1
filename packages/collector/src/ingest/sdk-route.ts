import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { TrackMateError } from '../errors.js';

interface Bundle {
  raw: Buffer;
  br: Buffer;
  gzip: Buffer;
  etag: string;
}

async function loadBundle(): Promise<Bundle | null> {
  let file: string;
  try {
    const require = createRequire(import.meta.url);
    file = join(dirname(require.resolve('@trackmate/browser/package.json')), 'dist', 'trackmate.min.js');
  } catch {
    return null;
  }
  const raw = await readFile(file).catch(() => null);
  if (!raw) return null;
  return {
    raw,
    br: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
    gzip: gzipSync(raw, { level: 9 }),
    etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}"`,
  };
}

/** `GET /sdk.js`: the browser SDK's IIFE for the script tag, compressed once, revalidated by ETag. */
export default async function sdkRoutes(app: FastifyInstance) {
  let bundle: Promise<Bundle | null> | undefined;
  app.get('/sdk.js', { schema: { tags: ['sdk'], summary: 'The browser SDK (IIFE) for the <script> tag' } }, async (request, reply) => {
    bundle ??= loadBundle();
    const b = await bundle;
    if (!b) {
      bundle = undefined; // built later? look again next time
      throw new TrackMateError('TM_ERR_NOT_FOUND', { message: 'The browser SDK is not built: run npm run build' });
    }
    reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400')
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('etag', b.etag)
      .header('vary', 'Accept-Encoding');
    if (request.headers['if-none-match'] === b.etag) return reply.code(304).send();
    const accept = request.headers['accept-encoding'] ?? '';
    if (/\bbr\b/.test(accept)) return reply.header('content-encoding', 'br').send(b.br);
    if (/\bgzip\b/.test(accept)) return reply.header('content-encoding', 'gzip').send(b.gzip);
    return reply.send(b.raw);
  });
}
