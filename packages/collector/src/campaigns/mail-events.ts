import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { loggable } from '../errors.js';
import { type IngestFeed, ingestRequest, validateServerEvents } from '../ingest/index.js';
import { campaignRepository } from './campaign-repository.js';
import type { MailToken } from './tracked-links.js';

/**
 * A hit on a campaign or flow e-mail (a click on a tracked link, a load of the open pixel) recorded as an event
 * on the person's profile — `email_click` or `email_open`, through the ingest queue like any server event, with
 * `properties.campaignId` or `flowId` (and `step` for a flow's), `suspect` with the reason when a scanner or
 * proxy made it, and `extra` — after `count` has counted it in the e-mail's results. Nothing is recorded for a
 * person erased since; a failure is logged and never thrown: the person still gets their page or image.
 */
export async function recordMailEvent(
  app: FastifyInstance,
  feed: IngestFeed,
  request: FastifyRequest,
  hit: {
    name: 'email_click' | 'email_open';
    token: MailToken;
    suspect: string | null;
    receivedAt: Date;
    extra?: Record<string, unknown>;
    count: () => Promise<void>;
  },
): Promise<void> {
  const { token } = hit;
  try {
    if (!(await campaignRepository(app.models).linkedProfileExists(token.siteId, token.profileId))) return;
    await hit.count();
    const source = token.source.kind === 'campaign' ? { campaignId: token.source.id } : { flowId: token.source.id };
    const properties = {
      ...source,
      ...(token.source.step ? { step: token.source.step } : {}),
      ...hit.extra,
      ...(hit.suspect ? { suspect: hit.suspect } : {}),
    };
    await ingestRequest(app, feed, request, {
      site: { id: token.siteId },
      source: 'server',
      isBatch: false,
      receivedAt: hit.receivedAt,
      build: (context) =>
        validateServerEvents(
          [{ event: hit.name, messageId: randomUUID(), profileId: token.profileId, properties }],
          context,
        ),
    });
  } catch (err) {
    request.log.warn({ err: loggable(err) }, `${hit.name} not recorded`);
  }
}
