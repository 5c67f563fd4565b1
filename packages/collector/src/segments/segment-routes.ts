import { Readable } from 'node:stream';
import {
  type SegmentDefinition as SegmentDefinitionInput,
  SegmentInput,
  SegmentList,
  type SegmentMember,
  SegmentMemberPage,
  SegmentPatch,
  SegmentPreview,
  SegmentPreviewInput,
  Segment as SegmentSchema,
  type Segment as SegmentView,
} from '@trackmate/schema';
import type { Types } from 'mongoose';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import type { SegmentDefinition, SegmentDoc } from '../models/index.js';
import { errorReplies, IdParams, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { bumpSiteConfig } from '../sites/index.js';
import { NO_CURRENCY } from './facts.js';
import { countMembers, dropMembers, memberIds } from './membership.js';
import { countDefinition, PREVIEW_BUDGET_MS, PREVIEW_PROFILES } from './preview-count.js';
import { requestRefresh } from './refresh-segment.js';
import { segmentRepository } from './segment-repository.js';

const common = { tags: ['segments'], security: [{ secretKey: [] }] };

/** Fills the defaults of event rules and checks what the schema cannot (revenue needs its currency). */
function normalise(definition: SegmentDefinitionInput): SegmentDefinition {
  return {
    match: definition.match,
    rules: definition.rules.map((r) => {
      if (r.type === 'event') return { ...r, did: r.did ?? true, atLeast: r.atLeast ?? 1 };
      if (r.type === 'value' && r.metric === 'revenue' && !r.currency) {
        throw new TrackMateError('TM_ERR_BAD_REQUEST', {
          message: `A revenue rule needs a currency (ISO 4217, e.g. EUR; ${NO_CURRENCY} for orders that name none)`,
        });
      }
      if (r.type === 'profile' && !['exists', 'notExists'].includes(r.op) && r.value === undefined) {
        throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `The rule on ${r.field} needs a value` });
      }
      return r;
    }),
  };
}

const CSV_COLUMNS = ['id', 'email', 'firstName', 'lastName', 'consent', 'country', 'lastSeen', 'orders', 'revenue'];
const cell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s; // a spreadsheet would run it as a formula
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** `/api/segments`: saved audiences of the key's site, their live count, members and CSV export. */
const segmentRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const segments = segmentRepository(app.models);
  const prefix = app.config.queuePrefix;
  // the ingest workers cache each site's segments until this version changes
  const changed = (siteId: Types.ObjectId) => bumpSiteConfig(app.redis, prefix, siteId.toHexString());

  const view = async (s: SegmentDoc): Promise<SegmentView> => ({
    id: s._id.toHexString(),
    name: s.name,
    definition: s.definition,
    count: await countMembers(app.redis, prefix, s._id.toHexString()),
    evaluating: s.evaluatedAt === null || s.evaluatedAt < s.updatedAt,
    evaluatedAt: s.evaluatedAt?.toISOString() ?? null,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  });

  /** Members by id, with what the list shows of them. */
  const membersOf = async (siteId: Types.ObjectId, ids: string[]): Promise<SegmentMember[]> => {
    const { profiles, facts } = await segments.members(siteId, ids);
    return ids.flatMap((id) => {
      const p = profiles.get(id);
      if (!p) return [];
      const f = facts.get(id);
      return [
        {
          id,
          email: p.email ?? null,
          firstName: p.firstName ?? null,
          lastName: p.lastName ?? null,
          consent: p.consent?.email === true,
          country: f?.country ?? null,
          lastSeen: f?.lastSeen ? new Date(f.lastSeen).toISOString() : null,
          orders: f?.orders ?? 0,
          revenue: f?.revenue ?? {},
        },
      ];
    });
  };

  app.post(
    '/api/segments',
    {
      schema: {
        ...common,
        summary: 'Save a segment (its members are evaluated in the background, then kept current)',
        body: SegmentInput,
        response: { 201: SegmentSchema, ...errorReplies(400, 401) },
      },
    },
    async (request, reply) => {
      const now = new Date();
      const created = await segments.create({
        siteId: siteIdOf(request),
        name: request.body.name,
        definition: normalise(request.body.definition),
        evaluatedAt: null,
        evaluatedDay: null,
        createdAt: now,
        updatedAt: now,
      });
      await changed(created.siteId);
      await requestRefresh(app.queues.triggers, created);
      return reply.code(201).send(await view(created));
    },
  );

  app.post(
    '/api/segments/preview',
    {
      schema: {
        ...common,
        summary: 'How many profiles a definition matches now, before it is saved (the same checks as saving)',
        description:
          `Evaluates the rules over the site's profiles, at most ${PREVIEW_PROFILES.toLocaleString('en')} of them ` +
          `and for at most ${PREVIEW_BUDGET_MS / 1000} s: \`complete\` is false when it stopped before the last ` +
          '(the count is then of those read, `scanned`). Stores nothing.',
        body: SegmentPreviewInput,
        response: { 200: SegmentPreview, ...errorReplies(400, 401) },
      },
    },
    async (request) => countDefinition(app.models, siteIdOf(request), normalise(request.body.definition)),
  );

  app.get(
    '/api/segments',
    { schema: { ...common, summary: "The site's segments", response: { 200: SegmentList, ...errorReplies(401) } } },
    async (request) => {
      return { segments: await Promise.all((await segments.list(siteIdOf(request))).map(view)) };
    },
  );

  app.get(
    '/api/segments/:id',
    {
      schema: {
        ...common,
        summary: 'One segment with its member count',
        params: IdParams,
        response: { 200: SegmentSchema, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => view(await segments.load(siteIdOf(request), request.params.id)),
  );

  app.patch(
    '/api/segments/:id',
    {
      schema: {
        ...common,
        summary: 'Rename a segment or change its rules (its members are evaluated again)',
        params: IdParams,
        body: SegmentPatch,
        response: { 200: SegmentSchema, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const siteId = siteIdOf(request);
      const current = await segments.load(siteId, request.params.id);
      const { name, definition } = request.body;
      const set: Partial<SegmentDoc> = { updatedAt: new Date() };
      if (name !== undefined) set.name = name;
      if (definition) set.definition = normalise(definition);
      await segments.update(current, set);
      const updated = await segments.load(siteId, current._id);
      await changed(siteId);
      if (definition) await requestRefresh(app.queues.triggers, updated);
      return view(updated);
    },
  );

  app.delete(
    '/api/segments/:id',
    {
      schema: {
        ...common,
        summary: 'Delete a segment',
        params: IdParams,
        response: errorReplies(400, 401, 404),
      },
    },
    async (request, reply) => {
      const current = await segments.load(siteIdOf(request), request.params.id);
      await segments.remove(current);
      await dropMembers(app.redis, prefix, current._id.toHexString());
      await changed(current.siteId);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/segments/:id/members',
    {
      schema: {
        ...common,
        summary: 'Members of a segment, in profile-id order, default 50 a page',
        params: IdParams,
        querystring: Type.Object({
          cursor: Type.Optional(
            Type.String({ pattern: '^[0-9a-f]{24}$', description: 'nextCursor of the page before' }),
          ),
          limit: Limit,
        }),
        response: { 200: SegmentMemberPage, ...errorReplies(400, 401, 404) },
      },
    },
    async (request) => {
      const siteId = siteIdOf(request);
      const segment = await segments.load(siteId, request.params.id);
      const id = segment._id.toHexString();
      const limit = parseLimit(request.query.limit);
      const ids = await memberIds(app.redis, prefix, id, request.query.cursor ?? null, limit + 1);
      const page = ids.slice(0, limit);
      return {
        count: await countMembers(app.redis, prefix, id),
        members: await membersOf(siteId, page),
        nextCursor: ids.length > limit ? page.at(-1)! : null,
      };
    },
  );

  app.get(
    '/api/segments/:id/members.csv',
    {
      schema: {
        ...common,
        summary: 'Every member of a segment as CSV (cells a spreadsheet would run as formulas are quoted)',
        params: IdParams,
        description: `text/csv, columns ${CSV_COLUMNS.join(',')}; revenue as "<amount> <currency>; …"`,
        response: errorReplies(400, 401, 404),
      },
    },
    async (request, reply) => {
      const siteId = siteIdOf(request);
      const segment = await segments.load(siteId, request.params.id);
      const id = segment._id.toHexString();
      async function* rows() {
        yield `${CSV_COLUMNS.join(',')}\n`;
        let cursor: string | null = null;
        for (;;) {
          const ids: string[] = await memberIds(app.redis, prefix, id, cursor, 500);
          if (!ids.length) return;
          for (const m of await membersOf(siteId, ids)) {
            const revenue = Object.entries(m.revenue)
              .map(([c, n]) => `${n} ${c}`)
              .join('; ');
            const values = [
              m.id,
              m.email,
              m.firstName,
              m.lastName,
              m.consent,
              m.country,
              m.lastSeen,
              m.orders,
              revenue,
            ];
            yield `${values.map(cell).join(',')}\n`;
          }
          cursor = ids.at(-1)!;
        }
      }
      const name = segment.name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60) || 'segment';
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.csv"`)
        .send(Readable.from(rows()));
    },
  );
};

export default segmentRoutes;
