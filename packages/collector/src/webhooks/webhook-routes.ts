import { randomBytes } from 'node:crypto';
import {
  type WebhookDelivery,
  WebhookDeliveryList,
  WebhookList,
  Webhook as WebhookSchema,
  type Webhook as WebhookView,
} from '@trackmate/schema';
import type { Types } from 'mongoose';
import { Type } from 'typebox';
import type { DeliveryDoc, WebhookDoc } from '../models/index.js';
import { checkOutgoingUrl, EventName, errorReplies, IdParams, type Routes, siteIdOf } from '../route-kit.js';
import { bumpSiteConfig } from '../sites/index.js';
import { webhookRepository } from './webhook-repository.js';

const Events = Type.Array(Type.Union([EventName, Type.Literal('*')]), {
  minItems: 1,
  maxItems: 100,
  description: 'Event names to deliver; "*" for all',
});
const Secret = Type.String({
  minLength: 16,
  maxLength: 200,
  description: 'HMAC key of X-TrackMate-Signature; generated when omitted',
});
const WebhookInput = Type.Object(
  {
    url: Type.String({ maxLength: 2_000 }),
    events: Events,
    secret: Type.Optional(Secret),
    active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
// (Type.Partial drops the inner object's additionalProperties: it is given to Partial itself)
const WebhookPatch = Type.Partial(WebhookInput, { additionalProperties: false });

function webhookView(w: WebhookDoc, withSecret = false): WebhookView {
  return {
    id: w._id.toString(),
    url: w.url,
    events: w.events,
    active: w.active,
    ...(withSecret ? { secret: w.secret } : {}),
    createdAt: w.createdAt.toISOString(),
    updatedAt: w.updatedAt.toISOString(),
  };
}

const deliveryView = (d: DeliveryDoc): WebhookDelivery => ({
  id: d._id.toString(),
  status: d.status,
  attempt: d.attempt,
  target: d.target,
  messageId: d.messageId,
  responseCode: d.responseCode,
  latencyMs: d.latencyMs,
  error: d.error,
  at: d.at.toISOString(),
});

const common = { tags: ['webhooks'], security: [{ secretKey: [] }] };

/** How long deliveries are signed with both the new and the replaced secret. */
const ROTATION_OVERLAP_MS = 24 * 3_600_000;

/** `/api/webhooks`: outgoing webhook subscriptions of the key's site, and their recent deliveries. */
const webhookRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const webhooks = webhookRepository(app.models);
  // the ingest workers cache each site's subscriptions until this version changes
  const changed = (siteId: Types.ObjectId) => bumpSiteConfig(app.redis, app.config.queuePrefix, siteId);

  app.post(
    '/api/webhooks',
    {
      schema: {
        ...common,
        summary: 'Subscribe a URL to events (the answer shows the signing secret; later reads do not)',
        body: WebhookInput,
        response: { 201: WebhookSchema, ...errorReplies(400, 401) },
      },
    },
    async (request, reply) => {
      const input = request.body;
      const now = new Date();
      const created = await webhooks.create({
        siteId: siteIdOf(request),
        url: checkOutgoingUrl(input.url),
        events: [...new Set(input.events)],
        secret: input.secret ?? `whsec_${randomBytes(24).toString('base64url')}`,
        active: input.active ?? true,
        createdAt: now,
        updatedAt: now,
      });
      await changed(created.siteId);
      return reply.code(201).send(webhookView(created, true));
    },
  );

  app.get(
    '/api/webhooks',
    {
      schema: {
        ...common,
        summary: "The site's webhook subscriptions",
        response: { 200: WebhookList, ...errorReplies(401) },
      },
    },
    async (request) => {
      return { webhooks: (await webhooks.list(siteIdOf(request))).map((w) => webhookView(w)) };
    },
  );

  app.get(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'One subscription',
        params: IdParams,
        response: { 200: WebhookSchema, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => webhookView(await webhooks.load(siteIdOf(request), request.params.id)),
  );

  app.patch(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary:
          'Change a subscription (a new secret signs the next attempts; for 24 hours they carry the old secret’s signature too)',
        params: IdParams,
        body: WebhookPatch,
        response: { 200: WebhookSchema, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const siteId = siteIdOf(request);
      const current = await webhooks.load(siteId, request.params.id);
      const input = request.body;
      const set: Partial<WebhookDoc> = { ...input, updatedAt: new Date() };
      if (input.url) set.url = checkOutgoingUrl(input.url);
      if (input.events) set.events = [...new Set(input.events)];
      if (input.secret && input.secret !== current.secret) {
        // receivers switch over at their pace: both signatures go out for a day
        set.previousSecret = current.secret;
        set.previousSecretUntil = new Date(Date.now() + ROTATION_OVERLAP_MS);
      }
      await webhooks.update(siteId, current._id, set);
      await changed(siteId);
      return webhookView(await webhooks.load(siteId, current._id));
    },
  );

  app.delete(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a subscription (queued deliveries are dropped)',
        params: IdParams,
        response: errorReplies(400, 401, 404),
      },
    },
    async (request, reply) => {
      const current = await webhooks.load(siteIdOf(request), request.params.id);
      await webhooks.remove(current.siteId, current._id);
      await changed(current.siteId);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/webhooks/:id/deliveries',
    {
      schema: {
        ...common,
        summary: 'The latest 100 delivery attempts, newest first',
        params: IdParams,
        response: { 200: WebhookDeliveryList, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const current = await webhooks.load(siteIdOf(request), request.params.id);
      return { deliveries: (await webhooks.deliveries(current._id)).map(deliveryView) };
    },
  );
};

export default webhookRoutes;
