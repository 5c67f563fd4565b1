import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Types } from 'mongoose';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { DeliveryDoc, WebhookDoc } from '../models/index.js';
import { checkOutgoingUrl, EventName, errorReplies, IdParams, parseId } from '../route-kit.js';

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
const WebhookPatch = Type.Partial(WebhookInput);

function webhookView(w: WebhookDoc, withSecret = false) {
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

const deliveryView = (d: DeliveryDoc) => ({
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

/** `/api/webhooks`: outgoing webhook subscriptions of the key's site, and their recent deliveries. */
export default async function webhookRoutes(app: FastifyInstance) {
  app.addHook('onRequest', app.requireSecretKey);
  const col = app.models.Webhook.collection;
  const siteOf = (request: { site?: { id: string } }) => new Types.ObjectId(request.site!.id);
  const load = async (siteId: Types.ObjectId, id: string) => {
    const doc = (await col.findOne({ _id: parseId(id, 'webhook'), siteId })) as WebhookDoc | null;
    if (!doc) throw new TrackMateError('TM_ERR_NOT_FOUND', { message: `No webhook ${id}` });
    return doc;
  };
  const idOf = (request: { params: unknown }) => (request.params as { id: string }).id;

  app.post(
    '/api/webhooks',
    {
      schema: {
        ...common,
        summary: 'Subscribe a URL to events (the answer shows the signing secret; later reads do not)',
        body: WebhookInput,
        response: errorReplies(400, 401),
      },
    },
    async (request, reply) => {
      const input = request.body as { url: string; events: string[]; secret?: string; active?: boolean };
      const now = new Date();
      const doc: WebhookDoc = {
        _id: new Types.ObjectId(),
        siteId: siteOf(request),
        url: checkOutgoingUrl(input.url),
        events: [...new Set(input.events)],
        secret: input.secret ?? `whsec_${randomBytes(24).toString('base64url')}`,
        active: input.active ?? true,
        createdAt: now,
        updatedAt: now,
      };
      await col.insertOne(doc);
      return reply.code(201).send(webhookView(doc, true));
    },
  );

  app.get(
    '/api/webhooks',
    { schema: { ...common, summary: "The site's webhook subscriptions", response: errorReplies(401) } },
    async (request) => {
      const docs = (await col
        .find({ siteId: siteOf(request) })
        .sort({ _id: 1 })
        .limit(1_000)
        .toArray()) as WebhookDoc[];
      return { webhooks: docs.map((w) => webhookView(w)) };
    },
  );

  app.get(
    '/api/webhooks/:id',
    { schema: { ...common, summary: 'One subscription', params: IdParams, response: errorReplies(401, 404) } },
    async (request) => webhookView(await load(siteOf(request), idOf(request))),
  );

  app.patch(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Change a subscription (a new secret signs the next attempts)',
        params: IdParams,
        body: WebhookPatch,
        response: errorReplies(400, 401, 404),
      },
    },
    async (request) => {
      const siteId = siteOf(request);
      const current = await load(siteId, idOf(request));
      const input = request.body as Partial<{ url: string; events: string[]; secret: string; active: boolean }>;
      const set: Record<string, unknown> = { ...input, updatedAt: new Date() };
      if (input.url) set.url = checkOutgoingUrl(input.url);
      if (input.events) set.events = [...new Set(input.events)];
      await col.updateOne({ _id: current._id, siteId }, { $set: set });
      return webhookView(await load(siteId, current._id.toString()));
    },
  );

  app.delete(
    '/api/webhooks/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a subscription (queued deliveries are dropped)',
        params: IdParams,
        response: errorReplies(401, 404),
      },
    },
    async (request, reply) => {
      const current = await load(siteOf(request), idOf(request));
      await col.deleteOne({ _id: current._id });
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
        response: errorReplies(401, 404),
      },
    },
    async (request) => {
      const current = await load(siteOf(request), idOf(request));
      const docs = (await app.models.Delivery.collection
        .find({ webhookId: current._id })
        .sort({ at: -1 })
        .limit(100)
        .toArray()) as DeliveryDoc[];
      return { deliveries: docs.map(deliveryView) };
    },
  );
}
