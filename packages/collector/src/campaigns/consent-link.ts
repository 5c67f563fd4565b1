import type { FastifyInstance, FastifyReply } from 'fastify';
import { Types } from 'mongoose';
import type { TObject } from 'typebox';
import type { ConsentEntry } from '../models/index.js';
import { recordConsent, survivorOf } from '../profiles/index.js';
import { reevaluateProfiles } from '../segments/index.js';
import { escapeHtml, htmlPage } from './templates.js';

interface LinkQuery {
  site: string;
  profile: string;
  [key: string]: string;
}

/**
 * A signed consent link of an e-mail (unsubscribe, double opt-in confirmation) at `path`: GET shows a page with
 * one button (mail scanners open every link and must change nobody's consent); POST, from that button, records
 * the decision for the link's profile in the link's site. `check` throws for a link that is not valid.
 */
export function consentLinkRoutes<Q extends LinkQuery>(
  app: FastifyInstance,
  link: {
    path: string;
    query: TObject;
    check: (q: Q) => Q;
    decision: { email: boolean; source: ConsentEntry['source'] };
    ask: { title: string; html: string; button: string; summary: string };
    done: { title: string; html: string; summary: string; log: string };
    /** After the decision was recorded: `changed` when the profile's e-mail consent was another before. */
    decided?: (q: Q, profileId: Types.ObjectId, changed: boolean) => Promise<void>;
  },
): void {
  // the page's button posts a form, and RFC 8058 one-click unsubscribe sends `List-Unsubscribe=One-Click`
  // form-encoded: the body carries nothing we need
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'multipart/form-data'],
    { parseAs: 'string', bodyLimit: 4_096 },
    (_r, _b, done) => done(null, {}),
  );
  const schema = { tags: ['campaign triggers'], querystring: link.query };
  const sendPage = (reply: FastifyReply, title: string, html: string) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(htmlPage(title, html));

  app.get<{ Querystring: Q }>(
    link.path,
    { schema: { ...schema, summary: link.ask.summary } },
    async (request, reply) => {
      const q = link.check(request.query as Q); // the schema checked its shape
      const action = `${link.path}?${new URLSearchParams(q).toString()}`;
      return sendPage(
        reply,
        link.ask.title,
        `${link.ask.html}<form method="post" action="${escapeHtml(action)}"><button type="submit">${escapeHtml(link.ask.button)}</button></form>`,
      );
    },
  );

  app.post<{ Querystring: Q }>(
    link.path,
    { schema: { ...schema, summary: link.done.summary } },
    async (request, reply) => {
      const q = link.check(request.query as Q); // the schema checked its shape
      // a link sent before the person's profile was merged into another applies to the one holding them now
      const profileId = await survivorOf(app.models, new Types.ObjectId(q.profile));
      const before = await app.models.Profile.findOne({ _id: profileId, siteId: q.site }, { consent: 1 }).lean();
      if (!before) {
        request.log.info({ profileId: q.profile }, `${link.done.log}: no such profile any more`);
        return sendPage(
          reply.code(404),
          'Nothing to change',
          '<p>We hold no record for this link any more (it may have been erased). Nothing was changed.</p>',
        );
      }
      await recordConsent(app.models, profileId, link.decision.email, new Date(), link.decision.source);
      // segments on consent see the decision now (an unsubscriber leaves "consenting" segments at once)
      const site = new Types.ObjectId(q.site);
      await reevaluateProfiles({ models: app.models, redis: app.redis, prefix: app.config.queuePrefix }, site, [
        profileId,
      ]);
      await link.decided?.(q, profileId, before.consent?.email !== link.decision.email);
      request.log.info({ profileId: profileId.toHexString(), linkProfileId: q.profile }, link.done.log);
      return sendPage(reply, link.done.title, link.done.html);
    },
  );
}
