import {
  FUNNEL_BREAKDOWNS,
  FUNNEL_ORDERS,
  FunnelDefinition,
  type FunnelOrder,
  FunnelResult,
  FunnelWindow,
} from '@trackmate/schema';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { dayStartMs, rangeOf, siteTimeZones } from '../analytics/index.js';
import { TrackMateError } from '../errors.js';
import { errorReplies, parseId, type Routes, siteIdOf } from '../route-kit.js';
import { SiteConfigCache, siteRepository } from '../sites/index.js';
import { loadFunnels } from './funnel-hook.js';
import { windowMs } from './funnel-match.js';
import { savedFigures } from './funnel-saved.js';
import { FUNNEL_SCAN_VISITORS, scanFunnel } from './funnel-scan.js';
import { funnelBase } from './funnel-state.js';
import { figuresOf, funnelResult } from './funnel-tally.js';

const DAY_MS = 86_400_000;

/** The site-local days of a range, oldest first. */
export function daysOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: "Site-local day (the site's time zone)" });

/** The `steps` query parameter: a JSON array of steps, checked against the schema with a reason. */
export function parseSteps(raw: string): FunnelDefinition['steps'] {
  let steps: unknown;
  try {
    steps = JSON.parse(raw);
  } catch {
    throw new TrackMateError('TM_ERR_BAD_REQUEST', {
      message: 'steps is a JSON array such as [{"event":"page_view","path":"/pricing"},{"event":"order_placed"}]',
    });
  }
  const schema = FunnelDefinition.properties.steps;
  if (!Value.Check(schema, steps)) {
    const first = [...Value.Errors(schema, steps)][0];
    throw new TrackMateError('TM_ERR_BAD_REQUEST', {
      message: `steps: 2–8 steps of {event, path?, property?: {key, value}}${first ? ` (${first.instancePath || '/'} ${first.message})` : ''}`,
    });
  }
  return steps;
}

/** A window string as milliseconds, or a 400. */
export function parseWindow(window: string): number {
  const ms = windowMs(window);
  if (ms === null) throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'window is 1h to 90d (e.g. 14d, 12h)' });
  return ms;
}

/**
 * `GET /api/stats/funnel`: people per step of an ordered funnel over a range of site-local days, from the stored
 * events (bounded: the first `limit` people who entered). docs/analytics.md defines every figure.
 */
const funnelRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireStatsKey);
  const sites = siteRepository(app.models);
  // a saved funnel's answer reads Redis only: definitions cached while the site's config version stands
  const saved = new SiteConfigCache(app.redis, app.config.queuePrefix, loadFunnels(app.models));
  const zones = siteTimeZones(app.models);

  app.get(
    '/api/stats/funnel',
    {
      schema: {
        tags: ['stats'],
        security: [{ secretKey: [] }],
        summary: 'People per step of an ordered funnel, matched per person within a conversion window',
        querystring: Type.Object({
          from: Type.Optional(Day),
          to: Type.Optional(Day),
          steps: Type.Optional(
            Type.String({
              maxLength: 8000,
              description:
                'JSON array of 2–8 steps: [{"event":"page_view","path":"/pricing"},{"event":"order_placed"}]',
            }),
          ),
          funnel: Type.Optional(
            Type.String({
              maxLength: 64,
              description: 'A saved funnel (/api/funnels) instead of steps: its pre-computed state',
            }),
          ),
          window: Type.Optional(FunnelWindow),
          order: Type.Optional(Type.Union(FUNNEL_ORDERS.map((o) => Type.Literal(o)))),
          breakdown: Type.Optional(Type.Union(FUNNEL_BREAKDOWNS.map((b) => Type.Literal(b)))),
          limit: Type.Optional(
            Type.String({
              pattern: '^[0-9]{1,5}$',
              description: `At most this many people, 1–${FUNNEL_SCAN_VISITORS} (the default)`,
            }),
          ),
        }),
        response: { 200: FunnelResult, ...errorReplies(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const q = request.query;
      const siteId = siteIdOf(request);
      // saved funnels' definitions, the time zones and the Redis state are keyed by the site's hex
      const site = siteId.toHexString();
      if (q.funnel !== undefined) {
        const id = parseId(q.funnel, 'funnel id').toHexString();
        const funnel = (await saved.get([site])).get(site)?.find((f) => f.id === id);
        if (!funnel) throw new TrackMateError('TM_ERR_NOT_FOUND', { message: 'No such saved funnel' });
        const timezone = (await zones([site])).get(site) ?? 'UTC';
        const range = rangeOf(q, timezone);
        const base = funnelBase(app.config.queuePrefix, site, id);
        const figures = await savedFigures(
          app.redis,
          base,
          funnel.steps.length,
          daysOf(range.from, range.to),
          q.breakdown,
        );
        return funnelResult(funnel.steps, figures, {
          ...range,
          timezone,
          window: funnel.window,
          order: funnel.order,
          computedFrom: 'saved',
          breakdown: q.breakdown,
        });
      }
      const { timezone } = await sites.settings(siteId);
      const range = rangeOf(q, timezone);
      if (q.steps === undefined)
        throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: 'Give steps (a JSON array) or a saved funnel' });
      const steps = parseSteps(q.steps);
      const window = q.window ?? '14d';
      const order: FunnelOrder = q.order ?? 'sequential';
      const limit = q.limit === undefined ? FUNNEL_SCAN_VISITORS : Number(q.limit);
      if (limit < 1 || limit > FUNNEL_SCAN_VISITORS)
        throw new TrackMateError('TM_ERR_BAD_REQUEST', { message: `limit is 1–${FUNNEL_SCAN_VISITORS}` });
      const fromMs = dayStartMs(range.from, timezone);
      const toMs = dayStartMs(
        new Date(Date.parse(`${range.to}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10),
        timezone,
      );
      const scan = await scanFunnel(app.models, siteId, steps, {
        steps: steps.length,
        windowMs: parseWindow(window),
        order,
        fromMs,
        toMs,
        limit,
        timezone,
      });
      return funnelResult(steps, figuresOf(steps.length, scan.people, q.breakdown), {
        ...range,
        timezone,
        window,
        order,
        computedFrom: 'events',
        breakdown: q.breakdown,
        limit: scan.limit,
        limited: scan.limited,
      });
    },
  );
};

export default funnelRoutes;
