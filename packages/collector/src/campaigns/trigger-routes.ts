import { randomBytes } from 'node:crypto';
import { EmailResults, TriggerList, Trigger as TriggerSchema, type Trigger as TriggerView } from '@trackmate/schema';
import type { Types } from 'mongoose';
import { type Static, Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { FlowStep, TriggerAction, TriggerDoc } from '../models/index.js';
import { checkOutgoingUrl, EventName, errorReplies, IdParams, type Routes, siteIdOf } from '../route-kit.js';
import { segmentOfSite } from '../segments/index.js';
import { bumpSiteConfig } from '../sites/index.js';
import { ATTRIBUTION_WINDOW_MS, dropResults, readResults } from './email-results.js';
import { opensTracked } from './open-pixel.js';
import { FILTER_OPS } from './property-filters.js';
import { unknownRoots } from './templates.js';
import { triggerRepository } from './trigger-repository.js';

const Filter = Type.Object(
  {
    property: Type.String({ pattern: '^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*$', maxLength: 200 }),
    op: Type.Union(FILTER_OPS.map((op) => Type.Literal(op))),
    value: Type.Optional(Type.Union([Type.String({ maxLength: 1_000 }), Type.Number(), Type.Boolean(), Type.Null()])),
  },
  { additionalProperties: false },
);
const EmailAction = Type.Object(
  {
    type: Type.Literal('email'),
    subject: Type.String({
      minLength: 1,
      maxLength: 300,
      description: 'Template: {{profile.firstName}}, {{event.properties.x}}',
    }),
    body: Type.String({
      minLength: 1,
      maxLength: 50_000,
      description: 'Plain-text template; the HTML part escapes every value',
    }),
  },
  { additionalProperties: false },
);
const WebhookAction = Type.Object(
  {
    type: Type.Literal('webhook'),
    url: Type.String({ maxLength: 2_000 }),
    secret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 200,
        description: 'Signs the POST (X-TrackMate-Signature); generated when omitted, shown once',
      }),
    ),
  },
  { additionalProperties: false },
);
const Action = Type.Union([EmailAction, WebhookAction]);
const delaySeconds = Type.Integer({
  minimum: 0,
  maximum: 30 * 86_400,
  description: 'Wait this long after the entry event',
});
const FlowStepInput = Type.Object(
  {
    delaySeconds: Type.Integer({
      minimum: 0,
      maximum: 30 * 86_400,
      description: 'Wait this long after the step before',
    }),
    action: Action,
  },
  { additionalProperties: false },
);
const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  active: Type.Boolean({ default: true }),
  entryEvent: EventName,
  filters: Type.Array(Filter, { maxItems: 20 }),
  delaySeconds,
  exitEvents: Type.Array(EventName, {
    maxItems: 20,
    description: 'Done from the entry on: the flow stops (no further action)',
  }),
  reentryHours: Type.Number({
    minimum: 0,
    maximum: 8_760,
    description: 'At most one entry per visitor per this many hours',
  }),
  segmentId: Type.Union([Type.String({ pattern: '^[0-9a-f]{24}$' }), Type.Null()], {
    description: 'Only members of this segment get the action (null: everyone who enters)',
  }),
  action: Action,
  nextSteps: Type.Array(FlowStepInput, {
    maxItems: 9,
    description: 'A flow: further steps after the first action, in order (each a wait and an e-mail or webhook)',
  }),
};
const TriggerInput = Type.Object(
  {
    ...fields,
    active: Type.Optional(fields.active),
    filters: Type.Optional(fields.filters),
    exitEvents: Type.Optional(fields.exitEvents),
    reentryHours: Type.Optional(fields.reentryHours),
    segmentId: Type.Optional(fields.segmentId),
    nextSteps: Type.Optional(fields.nextSteps),
  },
  { additionalProperties: false },
);
// (Type.Partial drops the inner object's additionalProperties: it is given to Partial itself)
const TriggerPatch = Type.Partial(Type.Object(fields), { additionalProperties: false });

function checkAction(action: Static<typeof Action>): TriggerAction {
  if (action.type === 'webhook') return { ...action, url: checkOutgoingUrl(action.url) };
  const bad = [...unknownRoots(action.subject), ...unknownRoots(action.body)];
  if (bad.length) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', {
      message: `Unknown template values: ${bad.join(', ')} (use profile.…, event.… or unsubscribeUrl)`,
    });
  }
  return action;
}

/** Every webhook a trigger sends is signed: a secret is generated when none is given. */
function withSecret(action: TriggerAction): TriggerAction {
  if (action.type !== 'webhook' || action.secret) return action;
  return { ...action, secret: `whsec_${randomBytes(24).toString('base64url')}` };
}

/** An action as the API shows it: a webhook's secret only in the answer that created it. */
function actionView(a: TriggerAction, withSecret: boolean): TriggerView['action'] {
  return a.type === 'webhook'
    ? { type: a.type, url: a.url, signed: Boolean(a.secret), ...(withSecret ? { secret: a.secret } : {}) }
    : a;
}

/** The further steps as given, checked, each webhook signed (a step changed without a secret keeps its own). */
function checkSteps(steps: Array<Static<typeof FlowStepInput>>, current: FlowStep[] = []): FlowStep[] {
  return steps.map((step, i) => {
    const action = checkAction(step.action);
    const before = current[i]?.action;
    if (action.type === 'webhook' && !action.secret && before?.type === 'webhook' && before.secret) {
      action.secret = before.secret;
    }
    return { delaySeconds: step.delaySeconds, action: withSecret(action) };
  });
}

/** A trigger as the API shows it: a webhook action's secret only in the answer that created it. */
function triggerView(t: TriggerDoc, withSecret = false): TriggerView {
  const action = actionView(t.action, withSecret);
  return {
    id: t._id.toString(),
    name: t.name,
    active: t.active,
    entryEvent: t.entryEvent,
    filters: t.filters,
    delaySeconds: t.delaySeconds,
    exitEvents: t.exitEvents,
    reentryHours: t.reentryHours,
    ...(t.segmentId ? { segmentId: t.segmentId.toHexString() } : {}),
    action,
    nextSteps: (t.nextSteps ?? []).map((step) => ({
      delaySeconds: step.delaySeconds,
      action: actionView(step.action, withSecret),
    })),
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

const common = { tags: ['campaign triggers'], security: [{ secretKey: [] }] };

/** `/api/triggers`: campaign triggers of the key's site (create, list, read, change, delete). */
const triggerRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const triggers = triggerRepository(app.models);
  // the ingest workers cache each site's active triggers until this version changes
  const changed = (siteId: Types.ObjectId) => bumpSiteConfig(app.redis, app.config.queuePrefix, siteId);
  /** The audience: a segment of the site (or a 400), or everyone. */
  const audience = (siteId: Types.ObjectId, id: string | null | undefined) =>
    id ? segmentOfSite(app.models, siteId, id) : null;

  app.post(
    '/api/triggers',
    {
      schema: {
        ...common,
        summary: 'Create a campaign trigger',
        body: TriggerInput,
        response: { 201: TriggerSchema, ...errorReplies(400, 401) },
      },
    },
    async (request, reply) => {
      const input = request.body;
      const now = new Date();
      const created = await triggers.create({
        siteId: siteIdOf(request),
        name: input.name,
        active: input.active ?? true,
        entryEvent: input.entryEvent,
        filters: input.filters ?? [],
        delaySeconds: input.delaySeconds,
        exitEvents: input.exitEvents ?? [],
        reentryHours: input.reentryHours ?? 0,
        segmentId: await audience(siteIdOf(request), input.segmentId),
        action: withSecret(checkAction(input.action)),
        nextSteps: checkSteps(input.nextSteps ?? []),
        createdAt: now,
        updatedAt: now,
      });
      await changed(created.siteId);
      return reply.code(201).send(triggerView(created, true));
    },
  );

  app.get(
    '/api/triggers',
    { schema: { ...common, summary: "The site's triggers", response: { 200: TriggerList, ...errorReplies(401) } } },
    async (request) => {
      return { triggers: (await triggers.list(siteIdOf(request))).map((d) => triggerView(d)) };
    },
  );

  app.get(
    '/api/triggers/:id',
    {
      schema: {
        ...common,
        summary: 'One trigger',
        params: IdParams,
        response: { 200: TriggerSchema, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => triggerView(await triggers.load(siteIdOf(request), request.params.id)),
  );

  app.get(
    '/api/triggers/:id/results',
    {
      schema: {
        ...common,
        summary:
          "What the flow's e-mails achieved: sent, failed, clicks, opens (when tracked), unsubscribes, and orders and revenue credited to them",
        params: IdParams,
        response: { 200: EmailResults, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const t = await triggers.load(siteIdOf(request), request.params.id);
      const results = await readResults(
        app.redis,
        app.config.queuePrefix,
        { kind: 'flow', id: t._id.toHexString() },
        { opens: await opensTracked(app.models, t.siteId) },
      );
      return { ...results, attributionWindowDays: ATTRIBUTION_WINDOW_MS / 86_400_000 };
    },
  );

  app.patch(
    '/api/triggers/:id',
    {
      schema: {
        ...common,
        summary: 'Change a trigger (visitors already waiting get the new action and exit events when their delay ends)',
        params: IdParams,
        body: TriggerPatch,
        response: { 200: TriggerSchema, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const siteId = siteIdOf(request);
      const current = await triggers.load(siteId, request.params.id);
      const { action: given, segmentId, nextSteps, ...fields } = request.body;
      const set: Partial<TriggerDoc> = { ...fields, updatedAt: new Date() };
      if (nextSteps) set.nextSteps = checkSteps(nextSteps, current.nextSteps);
      if (segmentId !== undefined) set.segmentId = await audience(siteId, segmentId);
      if (given) {
        const action = checkAction(given);
        // keep the signing secret when a webhook action is changed without giving a new one
        if (action.type === 'webhook' && !action.secret && current.action.type === 'webhook' && current.action.secret) {
          action.secret = current.action.secret;
        }
        set.action = action;
      }
      await triggers.update(current, set);
      await changed(siteId);
      return triggerView(await triggers.load(siteId, current._id));
    },
  );

  app.delete(
    '/api/triggers/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a trigger (waiting visitors get no action)',
        params: IdParams,
        response: errorReplies(400, 401, 404),
      },
    },
    async (request, reply) => {
      const current = await triggers.load(siteIdOf(request), request.params.id);
      await triggers.remove(current);
      await changed(current.siteId);
      await dropResults(app.redis, app.config.queuePrefix, { kind: 'flow', id: current._id.toHexString() });
      return reply.code(204).send();
    },
  );
};

export default triggerRoutes;
