import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { TrackMateError } from '../errors.js';
import type { Routes } from '../route-kit.js';

/** The package's `public/` folder: the browser SDK's IIFE, with .br and .gz beside it (scripts/copy-sdk.mjs). */
const PUBLIC = fileURLToPath(new URL('../../public/', import.meta.url));
const SDK = 'sdk.js';

/**
 * `GET /sdk.js`: the browser SDK for the script tag, by @fastify/static: precompressed brotli or gzip by
 * Accept-Encoding, ETag and Last-Modified revalidation, cacheable by browsers and CDNs for an hour.
 */
const sdkRoute: Routes = async (app) => {
  await app.register(fastifyStatic, {
    root: PUBLIC,
    serve: false,
    preCompressed: true,
    cacheControl: false,
    setHeaders: (res) => {
      res.header('cache-control', 'public, max-age=3600, stale-while-revalidate=86400');
      res.header('access-control-allow-origin', '*');
      res.header('cross-origin-resource-policy', 'cross-origin');
    },
  });
  app.get(
    '/sdk.js',
    { schema: { tags: ['sdk'], summary: 'The browser SDK (IIFE) for the <script> tag' } },
    async (_request, reply) => {
      if (!existsSync(`${PUBLIC}${SDK}`)) throw new TrackMateError('TM_ERR_SDK_NOT_BUILT');
      return reply.sendFile(SDK);
    },
  );
};

export default sdkRoute;
