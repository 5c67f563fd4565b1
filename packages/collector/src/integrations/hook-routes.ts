import { HookReply, PLATFORMS, type Platform } from '@trackmate/schema';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { type IngestFeed, ingestRequest } from '../ingest/index.js';
import { limit } from '../plugins/rate-limits.js';
import { loadSecretBox } from '../plugins/secret-box.js';
import { errorReplies, parseId, type Routes } from '../route-kit.js';
import { integrationSecret, isPlatform, siteRepository } from '../sites/index.js';
import { type Delivery, deliveryLog, type Outcome } from './delivery-log.js';
import { hookRepository } from './hook-repository.js';
import { eventErrors, type HookContext } from './order-event.js';
import { type Json, type Mapped, parseBody } from './payload.js';
import { mapShopify } from './shopify.js';
import { verifyShopify, verifyStripe, verifyWooCommerce } from './signatures.js';
import { mapStripe } from './stripe.js';
import { mapWooCommerce } from './woocommerce.js';

/** Each platform's signature check over the raw body, its topic, and its mapping onto our events. */
const PLATFORM: Record<
  Platform,
  {
    verify(body: Buffer, request: FastifyRequest, secret: string): 'ok' | 'bad' | 'stale';
    topic(request: FastifyRequest, payload: Json | undefined): string;
    map(topic: string, payload: Json, ctx: HookContext): Mapped;
  }
> = {
  shopify: {
    verify: (body, r, secret) => (verifyShopify(body, header(r, 'x-shopify-hmac-sha256'), secret) ? 'ok' : 'bad'),
    topic: (r) => header(r, 'x-shopify-topic') ?? '',
    map: mapShopify,
  },
  woocommerce: {
    verify: (body, r, secret) => (verifyWooCommerce(body, header(r, 'x-wc-webhook-signature'), secret) ? 'ok' : 'bad'),
    topic: (r) => header(r, 'x-wc-webhook-topic') ?? '',
    map: mapWooCommerce,
  },
  stripe: {
    verify: (body, r, secret) => verifyStripe(body, header(r, 'stripe-signature'), secret),
    topic: (_r, payload) => String(payload?.type ?? ''),
    map: (_topic, payload, ctx) => mapStripe(payload, ctx),
  },
};

const header = (r: FastifyRequest, name: string): string | undefined => {
  const v = r.headers[name];
  return typeof v === 'string' ? v.slice(0, 512) : undefined;
};

/** WooCommerce's test delivery when a webhook is saved: `webhook_id=<n>`, form-encoded, unsigned. It wants a 200. */
const WOO_PING = /^webhook_id=\d{1,20}$/;

/**
 * `POST /api/hooks/:platform/:siteId`: order webhooks of Shopify, WooCommerce and Stripe, each verified the
 * platform's way with the secret set for the site, on the raw body before anything parses it; a failed
 * signature is a 401 and nothing is stored. Orders and refunds go to the ingest queue as server events
 * (`order_placed`, `order_refunded`) whose messageIds come from the platform's ids, so a redelivery stores
 * nothing twice. Other topics are answered 200 (the platforms retry anything else) and counted.
 */
const hookRoutes: Routes<IngestFeed> = async (app, feed) => {
  const box = await loadSecretBox(app.models, app.config);
  const log = deliveryLog(app.redis, app.config.queuePrefix);
  const sites = siteRepository(app.models);
  const hooks = hookRepository(app.models);
  // the raw bytes, for the signature: nothing is parsed before it is checked
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/json', 'application/x-www-form-urlencoded'],
    { parseAs: 'buffer', bodyLimit: 512 * 1024 },
    (_request, body, done) => done(null, body),
  );

  app.post(
    '/api/hooks/:platform/:siteId',
    {
      schema: {
        summary: 'Order webhooks of Shopify, WooCommerce and Stripe',
        description:
          "Point the platform's order webhooks here (see docs/integrations.md), after setting the platform's " +
          'secret for the site (PATCH /api/site `integrationSecrets`). Verified with `X-Shopify-Hmac-Sha256`, ' +
          '`X-WC-Webhook-Signature` or `Stripe-Signature` (5 minutes tolerance) over the raw body. Orders become ' +
          '`order_placed`, refunds `order_refunded`, once per platform id; other topics are acknowledged and ' +
          'counted. 200 `{ outcome, events }`.',
        tags: ['integrations'],
        params: Type.Object({
          platform: Type.String({ enum: [...PLATFORMS] }),
          siteId: Type.String({ maxLength: 64 }),
        }),
        response: {
          200: HookReply,
          ...errorReplies(400, 401, 404, 413, 415, 429, 503),
        },
      },
      // the body is a Buffer (above), checked by the platform's signature, then mapped; the params below
      validatorCompiler: () => () => true,
      onRequest: [feed.backpressure.check],
      // a shop's platform sends from many addresses: limited per site, as server events are
      preHandler: limit(app, app.config.rateLimitPerKey, 'of this site', (r) => `hooks:${siteParam(r)}`),
    },
    async (request, reply) => {
      const receivedAt = new Date();
      const { platform, siteId } = request.params;
      if (!isPlatform(platform)) {
        throw new TrackMateError('TM_ERR_NOT_FOUND', {
          message: `No platform ${platform.slice(0, 40)}; the platforms are ${PLATFORMS.join(', ')}`,
        });
      }
      const spec = PLATFORM[platform];
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let topic = platform === 'stripe' ? '' : spec.topic(request, undefined);
      const done = async (outcome: Outcome, status: number, extra: Partial<Delivery> = {}) => {
        await log
          .record(siteId, platform, { at: receivedAt.toISOString(), topic, outcome, status, ...extra })
          .catch((err: unknown) => request.log.warn({ err: String(err) }, 'could not log a platform delivery'));
      };

      const site = await sites.integrations(parseId(siteId, 'site id'));
      if (!site) throw new TrackMateError('TM_ERR_NOT_FOUND', { message: `No site ${siteId}` });

      if (platform === 'woocommerce' && isForm(request) && WOO_PING.test(body.toString('latin1'))) {
        topic = 'ping';
        await done('ping', 200);
        return reply.code(200).send({ outcome: 'ping', events: 0 });
      }
      if (isForm(request)) {
        throw new TrackMateError('TM_ERR_UNSUPPORTED_MEDIA_TYPE', {
          message: 'Send the platform webhook as application/json',
        });
      }

      const secret = integrationSecret(box, site, platform);
      if (!secret) {
        const reason = site.integrations?.[platform]
          ? `the ${platform} secret cannot be read (was TRACKMATE_SIGNING_SECRET changed?): set it again`
          : `no ${platform} secret is set for this site: set it with sites update, PATCH /api/site or the console`;
        await done('refused', 401, { reason });
        throw new TrackMateError('TM_ERR_BAD_SIGNATURE', { message: reason[0]!.toUpperCase() + reason.slice(1) });
      }
      // an address that keeps sending bad signatures is answered 429 before its next check
      await app.authFailures.check(request);
      const verdict = spec.verify(body, request, secret);
      if (verdict !== 'ok') {
        await app.authFailures.record(request);
        const reason =
          verdict === 'stale'
            ? 'the signature is older than 5 minutes (a replay, or a clock far off)'
            : `the ${platform} signature does not verify with the secret set for this site`;
        await done('refused', 401, { reason });
        throw new TrackMateError('TM_ERR_BAD_SIGNATURE', { message: reason[0]!.toUpperCase() + reason.slice(1) });
      }

      const payload = parseBody(body);
      if (!payload) {
        await done('rejected', 400, { reason: 'the body is not a JSON object' });
        throw new TrackMateError('TM_ERR_INVALID_JSON', { message: 'The body is not a JSON object' });
      }
      topic = spec.topic(request, payload);
      const mapped = spec.map(topic, payload, { siteId, receivedAt });
      if ('ignored' in mapped) {
        await done('ignored', 200, { reason: mapped.ignored, orderId: mapped.orderId });
        return reply.code(200).send({ outcome: 'ignored', events: 0, reason: mapped.ignored });
      }
      for (const e of mapped.events) {
        const errors = eventErrors(e);
        if (errors) {
          const reason = `${e.name}: ${errors.join('; ')}`;
          await done('rejected', 400, { reason, orderId: mapped.orderId });
          throw new TrackMateError('TM_ERR_INVALID_PAYLOAD', {
            message: `The ${platform} payload cannot be stored: ${reason}`,
          });
        }
      }
      // a redelivery: what is stored already is not queued again (the unique messageId would drop it anyway)
      const seen = await hooks.storedMessageIds(
        site._id,
        mapped.events.map((e) => e.messageId),
      );
      const fresh = mapped.events.filter((e) => !seen.has(e.messageId));
      if (!fresh.length) {
        await done('duplicate', 200, { orderId: mapped.orderId, events: 0 });
        return reply.code(200).send({ outcome: 'duplicate', events: 0 });
      }
      // the platform's servers are no customer: their address and user agent are not stored (the mapped events have none)
      const { accepted } = await ingestRequest(app, feed, request, {
        site: { id: siteId },
        source: 'server',
        isBatch: true,
        receivedAt,
        build: () => ({ events: fresh, rejected: [], indexes: fresh.map((_, i) => i) }),
      });
      await done('accepted', 200, { orderId: mapped.orderId, events: accepted });
      return reply.code(200).send({ outcome: 'accepted', events: accepted });
    },
  );
};

export default hookRoutes;

const isForm = (r: FastifyRequest) => (r.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
const siteParam = ({ params }: FastifyRequest) =>
  params && typeof params === 'object' && 'siteId' in params ? String(params.siteId) : null;
