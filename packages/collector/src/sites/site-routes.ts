import { RotatedKeys, Site, SiteDeletion, UrlParamName } from '@trackmate/schema';
import { Type } from 'typebox';
import { TrackMateError } from '../errors.js';
import { loadSecretBox } from '../plugins/secret-box.js';
import { errorReplies, type Routes, siteIdOf } from '../route-kit.js';
import { deleteSite, type SiteKeyCleaner } from './delete-site.js';
import { siteRepository } from './site-repository.js';
import { MAX_OVERLAP_MS, rotateKeys, siteView, updateSite } from './sites-command.js';

const Origin = Type.String({ maxLength: 300, description: 'An http(s) origin such as https://shop.example' });
const Secret = Type.Optional(Type.Union([Type.String({ maxLength: 512 }), Type.Null()]));
const common = { tags: ['site'], security: [{ secretKey: [] }] };

/**
 * `/api/site`: the key's own site — read it, rename it, change its allowed origins, rotate its keys. This
 * process forgets the old keys at once; other collector processes within 30 s (their key cache).
 */
const siteRoutes: Routes<{ keyCleaners: SiteKeyCleaner[] }> = async (app, { keyCleaners }) => {
  app.addHook('onRequest', app.requireSecretKey);
  const sites = siteRepository(app.models);
  const load = (request: { site?: { id: string } }) => sites.load(siteIdOf(request));

  app.get(
    '/api/site',
    {
      schema: {
        ...common,
        summary: 'The site of this secret key: name, write key, allowed origins',
        response: { 200: Site, ...errorReplies(401) },
      },
    },
    async (request) => siteView(await load(request)),
  );

  app.patch(
    '/api/site',
    {
      schema: {
        ...common,
        summary:
          'Rename the site, change its allowed origins, consent mode, URL rules, e-mail open tracking or shop platform secrets',
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            addOrigins: Type.Optional(Type.Array(Origin, { maxItems: 50 })),
            removeOrigins: Type.Optional(Type.Array(Origin, { maxItems: 50 })),
            consentMode: Type.Optional(
              Type.Union([Type.Literal('single'), Type.Literal('double'), Type.Literal('server')], {
                description:
                  "What a browser's yes to e-mail counts for: single (consent), double (a confirmation e-mail is sent; " +
                  'the link gives consent) or server (nothing: only a backend, the profile API or a confirmation)',
              }),
            ),
            urlParams: Type.Optional(
              Type.Object(
                {
                  mode: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('full')])),
                  allow: Type.Optional(Type.Array(UrlParamName, { maxItems: 100 })),
                  deny: Type.Optional(Type.Array(UrlParamName, { maxItems: 100 })),
                },
                {
                  additionalProperties: false,
                  description:
                    'Which query parameters the URLs stored from browsers keep: allow (the default) keeps campaign tags ' +
                    '(utm_*), click ids (gclid, fbclid, msclkid), ref, source and the `allow` list; full keeps all but ' +
                    '`deny` and names that look secret. Fields given replace the stored ones. See docs/security.md.',
                },
              ),
            ),
            timezone: Type.Optional(
              Type.String({
                maxLength: 64,
                description: "IANA time zone of the site's days in the stats (Europe/Berlin); default UTC",
              }),
            ),
            attributionLookbackDays: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 90,
                description: 'Days before an order in which a visit can be credited with it (attribution); default 30',
              }),
            ),
            emailOpenTracking: Type.Optional(
              Type.Boolean({
                description:
                  'Track opens of campaign and flow e-mails with a 1×1 image (off by default); see docs/campaigns.md',
              }),
            ),
            integrationSecrets: Type.Optional(
              Type.Object(
                { shopify: Secret, woocommerce: Secret, stripe: Secret },
                {
                  additionalProperties: false,
                  description:
                    "The webhook secret of each shop platform (Shopify's signing key, WooCommerce's webhook secret, " +
                    "Stripe's whsec_…); null removes it. Stored sealed, never shown again. See docs/integrations.md.",
                },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Site, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const updated = await updateSite(app.models, await load(request), request.body, () =>
        loadSecretBox(app.models, app.config),
      );
      app.siteKeys.forgetSite(updated._id);
      return siteView(updated);
    },
  );

  app.post(
    '/api/site/rotate-key',
    {
      schema: {
        ...common,
        summary: 'New write, secret and/or ingest-only key; secret keys are shown in this answer only',
        description: 'Rotating the secret key ends the key this request was made with.',
        body: Type.Object(
          {
            write: Type.Optional(Type.Boolean()),
            secret: Type.Optional(Type.Boolean()),
            ingest: Type.Optional(Type.Boolean()),
            overlapSeconds: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: MAX_OVERLAP_MS / 1000,
                description: 'How long the replaced keys keep working (default 0: they stop at once; at most 30 days)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: RotatedKeys, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const { write = false, secret = false, ingest = false, overlapSeconds = 0 } = request.body;
      const which = { write, secret, ingest };
      const rotated = await rotateKeys(app.models, await load(request), { ...which, overlapMs: overlapSeconds * 1000 });
      app.siteKeys.forgetSite(rotated.siteId);
      request.log.info({ site: rotated.siteId, ...which, overlapSeconds }, 'site keys rotated');
      return rotated;
    },
  );

  app.delete(
    '/api/site',
    {
      schema: {
        ...common,
        summary: 'Delete the site and everything it holds: events, profiles, triggers, webhooks, deliveries',
        description:
          'Cannot be undone. `confirm` must be the site id. The keys stop working at once (other collector ' +
          'processes within 30 s); events of the site still queued or retried by browsers are dropped for 30 days. ' +
          'Answers how many documents and queued jobs were deleted.',
        querystring: Type.Object(
          { confirm: Type.String({ description: 'The site id, to confirm' }) },
          { additionalProperties: false },
        ),
        response: { 200: SiteDeletion, ...errorReplies(400, 401) },
      },
    },
    async (request) => {
      const site = await load(request);
      const siteId = site._id.toHexString();
      if (request.query.confirm !== siteId) {
        throw new TrackMateError('TM_ERR_CONFIRM', {
          message: `To delete the site and all its data, repeat its id: DELETE /api/site?confirm=${siteId}`,
        });
      }
      const result = await deleteSite(
        { models: app.models, redis: app.redis, prefix: app.config.queuePrefix, queues: app.queues, keyCleaners },
        site._id,
      );
      app.siteKeys.forgetSite(siteId);
      request.log.info({ site: siteId, deleted: result.deleted }, 'site deleted');
      return result;
    },
  );
};

export default siteRoutes;
