import { EventPage, LIMITS } from '@trackmate/schema';
import { Type } from 'typebox';
import { errorReplies, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { eventPage } from './event-page.js';

const common = { tags: ['events'], security: [{ secretKey: [] }] };

/** `GET /api/events`: the site's stored events, newest first — the console's live view. */
const eventRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);

  app.get(
    '/api/events',
    {
      schema: {
        ...common,
        summary: "The site's stored events, newest first (by event time), a page at a time",
        description:
          'Events appear once the ingest worker has stored them, usually within a second of the 202. ' +
          '`nextCursor` (or null) goes in `?cursor=` for the next, older page.',
        querystring: Type.Object({
          name: Type.Optional(
            Type.String({ maxLength: LIMITS.maxNameLength, description: 'Only events of this name' }),
          ),
          limit: Limit,
          cursor: Type.Optional(Type.String({ maxLength: 128, description: 'nextCursor of the previous page' })),
        }),
        response: { 200: EventPage, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const { name, limit, cursor } = request.query;
      // an empty ?name= lists every name
      return eventPage(app.models, { siteId: siteIdOf(request), name: name || undefined }, parseLimit(limit), cursor);
    },
  );
};

export default eventRoutes;
