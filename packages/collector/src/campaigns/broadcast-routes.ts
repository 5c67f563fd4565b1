import {
  BROADCAST_DEFAULT_RATE,
  CampaignInput,
  CampaignList,
  CampaignPatch,
  CampaignPreview,
  Campaign as CampaignSchema,
  CampaignSend,
  CampaignTest,
  type Campaign as CampaignView,
  EmailResults,
} from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { CampaignDoc } from '../models/index.js';
import { errorReplies, IdParams, parseId, type Routes, siteIdOf } from '../route-kit.js';
import { countMembers, memberIds, segmentOfSite } from '../segments/index.js';
import { broadcastMail } from './broadcast-message.js';
import { campaignKeys, queueBroadcast, statsKey } from './broadcast-send.js';
import { campaignRepository } from './campaign-repository.js';
import { ATTRIBUTION_WINDOW_MS, dropResults, readResults } from './email-results.js';
import { createMailer } from './mailer.js';
import { opensTracked } from './open-pixel.js';
import { unknownRoots } from './templates.js';

const common = { tags: ['campaigns'], security: [{ secretKey: [] }] };
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/** A broadcast's templates may use profile values and the unsubscribe link (there is no event). */
function checkTemplates(...parts: Array<string | undefined>) {
  const text = parts.join(' ');
  const bad = [
    ...unknownRoots(text),
    ...[...text.matchAll(/\{\{\s*(event(\.[A-Za-z0-9_]+)*)\s*\}\}/g)].map((m) => m[1]!),
  ];
  if (bad.length) {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', {
      message: `Unknown template values: ${bad.join(', ')} (use profile.… or unsubscribeUrl)`,
    });
  }
}

/** `/api/campaigns`: broadcasts to a segment (compose, preview, test, send now or later, pause, resume, progress). */
const broadcastRoutes: Routes<{ signingSecret: string }> = async (app, { signingSecret }) => {
  app.addHook('onRequest', app.requireSecretKey);
  const campaigns = campaignRepository(app.models);
  const load = campaigns.load;
  const prefix = app.config.queuePrefix;
  const testMailer = createMailer(app.config);
  app.addHook('onClose', async () => testMailer.close());

  const view = async (c: CampaignDoc): Promise<CampaignView> => {
    const id = c._id.toHexString();
    const [stats, audience] = await Promise.all([
      app.redis.hgetall(statsKey(prefix, id)),
      countMembers(app.redis, prefix, c.segmentId.toHexString()),
    ]);
    const n = (k: string) => Number(stats[k] ?? 0);
    return {
      id,
      name: c.name,
      segmentId: c.segmentId.toHexString(),
      subject: c.subject,
      body: c.body,
      status: c.status,
      scheduledAt: iso(c.scheduledAt),
      ratePerSecond: c.ratePerSecond,
      frequencyCapHours: c.frequencyCapHours,
      startedAt: iso(c.startedAt),
      finishedAt: iso(c.finishedAt),
      progress: {
        audience,
        sent: n('sent'),
        failed: n('failed'),
        skipped: n('skipped'),
        inFlight: Math.max(0, n('claimed') - n('sent') - n('failed')),
      },
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
    };
  };

  /** A profile of the site to fill the template with: the one asked for, else the segment's first member. */
  const sampleProfile = async (c: CampaignDoc, profileId?: string) => {
    const id = profileId ?? (await memberIds(app.redis, prefix, c.segmentId.toHexString(), null, 1))[0];
    const profile = id ? await campaigns.profile(c, parseId(id, 'profile id')) : null;
    if (!profile) {
      throw new TrackMateError('TM_ERR_NOT_FOUND', {
        message: profileId ? `No profile ${profileId}` : 'The segment has no member to preview with',
      });
    }
    return profile;
  };

  /** Moves a campaign from one of `from` to `to`; 409 when it is in another state. */
  const move = async (c: CampaignDoc, from: CampaignDoc['status'][], set: Partial<CampaignDoc>) => {
    if (!(await campaigns.move(c, from, { ...set, updatedAt: new Date() }))) {
      throw new TrackMateError('TM_ERR_CONFLICT', {
        message: `The campaign is ${c.status}: not one of ${from.join(', ')}`,
      });
    }
    return load(c.siteId, c._id);
  };

  app.post(
    '/api/campaigns',
    {
      schema: {
        ...common,
        summary: 'Compose a broadcast (a draft)',
        body: CampaignInput,
        response: { 201: CampaignSchema, ...errorReplies(400, 401) },
      },
    },
    async (request, reply) => {
      const input = request.body;
      const siteId = siteIdOf(request);
      checkTemplates(input.subject, input.body);
      const now = new Date();
      const created = await campaigns.create({
        siteId,
        name: input.name,
        segmentId: await segmentOfSite(app.models, siteId, input.segmentId),
        subject: input.subject,
        body: input.body,
        status: 'draft',
        scheduledAt: null,
        ratePerSecond: input.ratePerSecond ?? BROADCAST_DEFAULT_RATE,
        frequencyCapHours: input.frequencyCapHours ?? null,
        runs: 0,
        startedAt: null,
        finishedAt: null,
        createdAt: now,
        updatedAt: now,
      });
      return reply.code(201).send(await view(created));
    },
  );

  app.get(
    '/api/campaigns',
    { schema: { ...common, summary: "The site's broadcasts", response: { 200: CampaignList, ...errorReplies(401) } } },
    async (request) => {
      return { campaigns: await Promise.all((await campaigns.list(siteIdOf(request))).map(view)) };
    },
  );

  app.get(
    '/api/campaigns/:id',
    {
      schema: {
        ...common,
        summary: 'One broadcast with its progress',
        params: IdParams,
        response: { 200: CampaignSchema, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => view(await load(siteIdOf(request), request.params.id)),
  );

  app.get(
    '/api/campaigns/:id/results',
    {
      schema: {
        ...common,
        summary:
          'What the broadcast achieved: sent, failed, clicks, opens (when tracked), unsubscribes, and orders and revenue credited to it',
        params: IdParams,
        response: { 200: EmailResults, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const c = await load(siteIdOf(request), request.params.id);
      const stats = await app.redis.hgetall(statsKey(prefix, c._id.toHexString()));
      const counts = { sent: Number(stats.sent ?? 0), failed: Number(stats.failed ?? 0) };
      const results = await readResults(
        app.redis,
        prefix,
        { kind: 'campaign', id: c._id.toHexString() },
        { counts, opens: await opensTracked(app.models, c.siteId) },
      );
      return { ...results, attributionWindowDays: ATTRIBUTION_WINDOW_MS / 86_400_000 };
    },
  );

  app.patch(
    '/api/campaigns/:id',
    {
      schema: {
        ...common,
        summary: 'Change a draft or scheduled broadcast',
        params: IdParams,
        body: CampaignPatch,
        response: { 200: CampaignSchema, ...errorReplies(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const siteId = siteIdOf(request);
      const current = await load(siteId, request.params.id);
      const { segmentId, ...rest } = request.body;
      checkTemplates(rest.subject, rest.body);
      const set: Partial<CampaignDoc> = { ...rest };
      if (segmentId) set.segmentId = await segmentOfSite(app.models, siteId, segmentId);
      return view(await move(current, ['draft', 'scheduled'], set));
    },
  );

  app.delete(
    '/api/campaigns/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a broadcast that is not sending (its send records stay until the site is deleted)',
        params: IdParams,
        response: errorReplies(400, 401, 404, 409),
      },
    },
    async (request, reply) => {
      const current = await load(siteIdOf(request), request.params.id);
      if (!(await campaigns.removeUnlessSending(current)))
        throw new TrackMateError('TM_ERR_CONFLICT', { message: 'The campaign is sending: pause it first' });
      await dropResults(app.redis, prefix, { kind: 'campaign', id: current._id.toHexString() });
      await app.redis.del(...campaignKeys(prefix, current._id.toHexString()));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/campaigns/:id/preview',
    {
      schema: {
        ...common,
        summary: "The message filled with a real profile's values (default: the segment's first member)",
        params: IdParams,
        querystring: Type.Object({ profileId: Type.Optional(Type.String({ pattern: '^[0-9a-f]{24}$' })) }),
        response: { 200: CampaignPreview, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const c = await load(siteIdOf(request), request.params.id);
      const profile = await sampleProfile(c, request.query.profileId);
      const mail = broadcastMail(app.config, signingSecret, c, profile);
      return {
        profileId: profile._id.toHexString(),
        to: profile.email ?? null,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
      };
    },
  );

  app.post(
    '/api/campaigns/:id/test',
    {
      schema: {
        ...common,
        summary: 'Send the message, as a real profile would get it, to one address (no send record, no consent check)',
        params: IdParams,
        body: CampaignTest,
        response: {
          200: Type.Object({ sent: Type.Boolean(), to: Type.String() }),
          ...errorReplies(400, 401, 404, 503),
        },
      },
    },
    async (request) => {
      const c = await load(siteIdOf(request), request.params.id);
      const profile = await sampleProfile(c, request.body.profileId);
      // the sample profile fills the template; the unsubscribe link is an inert one, not the profile's own
      const mail = broadcastMail(app.config, signingSecret, c, profile, request.body.email, undefined, true);
      await testMailer.send({ ...mail, subject: `[Test] ${mail.subject}` });
      return { sent: true, to: request.body.email };
    },
  );

  app.post(
    '/api/campaigns/:id/send',
    {
      schema: {
        ...common,
        summary: 'Send a draft now, or at `at` (scheduled)',
        params: IdParams,
        body: CampaignSend,
        response: { 200: CampaignSchema, ...errorReplies(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const c = await load(siteIdOf(request), request.params.id);
      const at = request.body.at ? new Date(request.body.at) : null;
      const later = at && at.getTime() > Date.now();
      const moved = await move(c, ['draft', 'scheduled'], {
        status: later ? 'scheduled' : 'sending',
        scheduledAt: later ? at : null,
        startedAt: later ? null : new Date(),
        runs: c.runs + 1,
      });
      await queueBroadcast(app.queues.triggers, moved, later ? at : undefined);
      return view(moved);
    },
  );

  app.post(
    '/api/campaigns/:id/pause',
    {
      schema: {
        ...common,
        summary: 'Pause a sending broadcast (it stops within 24 messages)',
        params: IdParams,
        response: { 200: CampaignSchema, ...errorReplies(400, 401, 404, 409) },
      },
    },
    async (request) =>
      view(await move(await load(siteIdOf(request), request.params.id), ['sending'], { status: 'paused' })),
  );

  app.post(
    '/api/campaigns/:id/resume',
    {
      schema: {
        ...common,
        summary: 'Resume a paused broadcast (nobody already handled is sent again)',
        params: IdParams,
        response: { 200: CampaignSchema, ...errorReplies(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const c = await load(siteIdOf(request), request.params.id);
      const moved = await move(c, ['paused'], { status: 'sending', runs: c.runs + 1 });
      await queueBroadcast(app.queues.triggers, moved);
      return view(moved);
    },
  );

  app.post(
    '/api/campaigns/:id/cancel',
    {
      schema: {
        ...common,
        summary: 'Cancel a scheduled, sending or paused broadcast',
        params: IdParams,
        response: { 200: CampaignSchema, ...errorReplies(400, 401, 404, 409) },
      },
    },
    async (request) =>
      view(
        await move(await load(siteIdOf(request), request.params.id), ['scheduled', 'sending', 'paused'], {
          status: 'cancelled',
          finishedAt: new Date(),
        }),
      ),
  );
};

export default broadcastRoutes;
