import { STATS_DIMENSIONS, StatsAggregate, StatsBreakdown, StatsRealtime, StatsTimeseries } from '@trackmate/schema';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { errorReplies, type Routes, siteIdOf } from '../route-kit.js';
import { siteRepository } from '../sites/index.js';
import { localDay } from './site-days.js';
import { daysOf, figures, parseFilters, previousRange, StatsQuery } from './stats-query.js';

const DAY_MS = 86_400_000;
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: "Site-local day (the site's time zone)" });
const Range = {
  from: Type.Optional(Day),
  to: Type.Optional(Day),
  filters: Type.Optional(
    Type.String({
      maxLength: 2000,
      description: `dim==value;dim!=value on any of ${STATS_DIMENSIONS.join(', ')}; \`(none)\` matches visits without one`,
    }),
  ),
};
const common = { tags: ['stats'], security: [{ secretKey: [] }] };

/** from/to as site-local days; default the last 30 days up to today in the site's time zone; at most 366 days. */
export function rangeOf(q: { from?: string; to?: string }, timezone: string): { from: string; to: string } {
  const parse = (s: string, what: string) => {
    const t = Date.parse(`${s}T00:00:00Z`);
    if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== s)
      throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `${what} is not a day: ${s}` });
    return t;
  };
  const to = q.to ? parse(q.to, 'to') : Date.parse(`${localDay(Date.now(), timezone)}T00:00:00Z`);
  const from = q.from ? parse(q.from, 'from') : to - 29 * DAY_MS;
  if (from > to) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'from is after to' });
  if (to - from > 365 * DAY_MS) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'At most 366 days at once' });
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  return { from: day(from), to: day(to) };
}

/**
 * `/api/stats/aggregate | timeseries | breakdown | realtime`: the site's traffic over a range of site-local days,
 * from the roll-ups (analytics/stats-query.ts). Bots are left out of every figure.
 */
const statsRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireStatsKey);
  const ctx = { models: app.models, redis: app.redis, prefix: app.config.queuePrefix };
  const sites = siteRepository(app.models);
  const siteOf = async (request: FastifyRequest) => {
    const id = siteIdOf(request);
    const { timezone } = await sites.settings(id);
    return { id, timezone, query: new StatsQuery(ctx, id, timezone) };
  };

  app.get(
    '/api/stats/aggregate',
    {
      schema: {
        ...common,
        summary: 'Visitors, visits, page views, bounce rate, visit duration, orders and revenue over a range',
        querystring: Type.Object({ ...Range, compare: Type.Optional(Type.Literal('previous')) }),
        response: { 200: StatsAggregate, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const site = await siteOf(request);
      const range = rangeOf(request.query, site.timezone);
      const filters = parseFilters(request.query.filters);
      const results = figures((await site.query.rows('all', range.from, range.to, filters)).get(''));
      const out: StatsAggregate = {
        ...range,
        timezone: site.timezone,
        results,
        bots: await site.query.bots(range.from, range.to),
      };
      if (request.query.compare === 'previous') {
        const prev = previousRange(range.from, range.to);
        out.previous = {
          ...prev,
          results: figures((await site.query.rows('all', prev.from, prev.to, filters)).get('')),
        };
      }
      return out;
    },
  );

  app.get(
    '/api/stats/timeseries',
    {
      schema: {
        ...common,
        summary: 'The same figures per site-local day of a range',
        querystring: Type.Object(Range),
        response: { 200: StatsTimeseries, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const site = await siteOf(request);
      const range = rangeOf(request.query, site.timezone);
      const rows = await site.query.rows('all', range.from, range.to, parseFilters(request.query.filters), 'day');
      return {
        ...range,
        timezone: site.timezone,
        days: daysOf(range.from, range.to).map((day) => ({ day, ...figures(rows.get(day)) })),
      };
    },
  );

  app.get(
    '/api/stats/breakdown',
    {
      schema: {
        ...common,
        summary: 'Figures per value of one dimension (sources, pages, countries, devices…), a page at a time',
        querystring: Type.Object({
          ...Range,
          dimension: Type.Union(
            STATS_DIMENSIONS.map((d) => Type.Literal(d)),
            { description: 'What to break down by' },
          ),
          limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: '1–1000, default 10' })),
          page: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$', description: 'from 1' })),
        }),
        response: { 200: StatsBreakdown, ...errorReplies(400, 401, 403) },
      },
    },
    async (request) => {
      const q = request.query;
      const site = await siteOf(request);
      const range = rangeOf(q, site.timezone);
      const limit = Number(q.limit ?? 10);
      const page = Number(q.page ?? 1);
      if (limit < 1 || limit > 1000 || page < 1)
        throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'limit is 1–1000 and page starts at 1' });
      const key = q.dimension === 'page' ? 'pageviews' : q.dimension === 'event' ? 'events' : 'visits';
      const found = await site.query.breakdown(
        q.dimension,
        range.from,
        range.to,
        parseFilters(q.filters),
        key,
        (page - 1) * limit,
        limit,
      );
      return {
        ...range,
        dimension: q.dimension,
        rows: found.rows.map(([value, c]) => ({ value, ...figures(c) })),
        page,
        hasMore: found.hasMore,
      };
    },
  );

  app.get(
    '/api/stats/realtime',
    {
      schema: {
        ...common,
        summary: 'Visitors with an event in the last 5 minutes',
        response: { 200: StatsRealtime, ...errorReplies(401, 403) },
      },
    },
    async (request) => {
      const site = await siteOf(request);
      const since = new Date(Date.now() - 5 * 60_000);
      // bots and visits of server events alone (no browser) are nobody on the site
      const visits = (await site.query.openVisitDocs(since.getTime())).filter(
        (v) => !v.dims.bot && v.dims.channel !== '(none)',
      );
      return { visitors: new Set(visits.map((v) => v.visitor)).size, since: since.toISOString() };
    },
  );
};

export default statsRoutes;
