import { createHmac, randomUUID } from 'node:crypto';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import {
  type IngestFeed,
  ingestRequest,
  siteOfWriteKey,
  validateClientEvents,
  writeKeyHooks,
  writeKeyOf,
} from '../ingest/index.js';
import { loadSigningSecret } from '../plugins/secret-box.js';
import { errorReplies, type Routes } from '../route-kit.js';
import { normalizeOrigin } from '../sites/index.js';
import { isJsonObject, type Json } from './payload.js';

/** A transparent 1×1 GIF, 43 bytes. */
export const PIXEL = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

const Query = Type.Object(
  {
    writeKey: Type.Optional(Type.String({ maxLength: 128 })),
    name: Type.Optional(Type.String({ maxLength: 64, description: 'Event name (default page_view)' })),
    url: Type.Optional(Type.String({ maxLength: 2048, description: 'The page (default: the Referer)' })),
    referrer: Type.Optional(Type.String({ maxLength: 2048 })),
    title: Type.Optional(Type.String({ maxLength: 512 })),
    anonymousId: Type.Optional(Type.String({ maxLength: 128 })),
    sessionId: Type.Optional(Type.String({ maxLength: 128 })),
    messageId: Type.Optional(Type.String({ maxLength: 128, description: 'Dedupe key (default: a new one per load)' })),
    props: Type.Optional(Type.String({ maxLength: 4096, description: 'More properties, a JSON object' })),
  },
  // other parameters (a campaign's own, a cache buster) are ignored
  { additionalProperties: true },
);

/**
 * `GET /p.gif?writeKey=…&name=…&url=…`: the no-script pixel, for `<noscript>`, AMP pages and e-mail clients.
 * One client event per load, through the same key check, rate limits, origin rule (by the Referer, when the
 * client sends one), validation, privacy rules and queue as `POST /api/track/event`; answered with a 43-byte
 * transparent GIF that is never cached. Errors keep their status (401 unknown key, 403 origin, 400 invalid).
 */
const pixelRoute: Routes<IngestFeed> = async (app, feed) => {
  const signing = await loadSigningSecret(app.models, app.config);

  app.get(
    '/p.gif',
    {
      exposeHeadRoute: false, // a HEAD (a mail proxy checking the image) must not count as a view
      schema: {
        summary: 'No-script tracking pixel',
        description:
          'One event per load (default `page_view`, with `url` defaulting to the Referer). The visitor is ' +
          '`anonymousId` when given, else a daily id hashed from site, address and user agent (never stored ' +
          'as such). Answers a 43-byte transparent GIF with no-cache headers. See docs/integrations.md.',
        tags: ['tracking'],
        querystring: Query,
        response: { ...errorReplies(400, 401, 403, 429, 503) },
      },
      // the key comes in the query (an image request has no body)
      ...writeKeyHooks(app, feed.backpressure, (request) => writeKeyOf(request, undefined)),
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const q = request.query;
      const referer = typeof request.headers.referer === 'string' ? request.headers.referer : undefined;
      const refererOrigin = referer ? (normalizeOrigin(referer) ?? referer) : undefined;
      const site = await siteOfWriteKey(app, request, request.headers.origin ?? refererOrigin);

      const props = q.props === undefined ? {} : jsonObject(q.props);
      const name = q.name ?? 'page_view';
      const properties: Record<string, unknown> = { ...props };
      const url = q.url ?? referer;
      if (url !== undefined) properties.url = url;
      if (name === 'page_view') {
        properties.referrer = q.referrer ?? '';
        properties.title = q.title ?? '';
      } else {
        if (q.referrer !== undefined) properties.referrer = q.referrer;
        if (q.title !== undefined) properties.title = q.title;
      }
      await ingestRequest(app, feed, request, {
        site,
        source: 'client',
        isBatch: false,
        receivedAt,
        build: (context) => {
          const event = {
            messageId: q.messageId ?? randomUUID(),
            name,
            timestamp: receivedAt.toISOString(),
            anonymousId: q.anonymousId ?? dailyVisitor(signing, site.id, context.ip, context.userAgent, receivedAt),
            ...(q.sessionId ? { sessionId: q.sessionId } : {}),
            properties,
            context: { library: { name: 'trackmate-pixel', version: '1' } },
          };
          return validateClientEvents([event], { ...context, consentMode: site.consentMode });
        },
      });
      return reply
        .code(200)
        .header('content-type', 'image/gif')
        .header('cache-control', 'no-cache, no-store, must-revalidate, max-age=0')
        .header('pragma', 'no-cache')
        .header('expires', '0')
        .send(PIXEL);
    },
  );
};

export default pixelRoute;

/**
 * A visitor id for pixel loads that name none (e-mail clients, pages without script): one per site, address and
 * user agent for the UTC day, hashed with a key of the installation and that day, so it cannot be turned back
 * into the address nor followed from one day to the next. With TRACKMATE_IP_MODE=none, the address is not used.
 */
function dailyVisitor(secret: string, siteId: string, ip: string | null, ua: string | null, at: Date): string {
  const day = at.toISOString().slice(0, 10);
  const key = createHmac('sha256', secret).update(`pixel-visitor:${day}`).digest();
  return `px_${createHmac('sha256', key)
    .update(`${siteId}|${ip ?? ''}|${ua ?? ''}`)
    .digest('base64url')
    .slice(0, 22)}`;
}

function jsonObject(raw: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  if (!isJsonObject(value)) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'props must be a JSON object' });
  return value;
}
