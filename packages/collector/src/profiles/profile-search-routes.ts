import { ProfilePage } from '@trackmate/schema';
import { Type } from 'typebox';
import { errorReplies, Limit, parseLimit, type Routes, siteIdOf } from '../route-kit.js';
import { profileRepository } from './profile-repository.js';
import { profileView } from './profile-views.js';

/**
 * `GET /api/profiles/search?q=`: profiles whose e-mail starts with what was typed (the console's search box), in
 * e-mail order. An anchored prefix of the lower-cased e-mail, so the (siteId, email) index answers it.
 */
const profileSearchRoutes: Routes = async (app) => {
  app.addHook('onRequest', app.requireSecretKey);
  const profiles = profileRepository(app.models);

  app.get(
    '/api/profiles/search',
    {
      schema: {
        tags: ['profiles'],
        security: [{ secretKey: [] }],
        summary: 'Profiles whose e-mail starts with `q` (any case), in e-mail order, default 20',
        querystring: Type.Object({
          q: Type.String({ minLength: 1, maxLength: 254, description: 'The start of an e-mail address' }),
          limit: Limit,
        }),
        response: { 200: ProfilePage, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const prefix = request.query.q.trim().toLowerCase();
      const docs = await profiles.searchByEmail(siteIdOf(request), prefix, parseLimit(request.query.limit, 20, 200));
      return { profiles: docs.map(profileView), nextCursor: null };
    },
  );
};

export default profileSearchRoutes;
