import { unlinkMatching } from '../plugins/redis.js';
import type { SiteKeyCleaner } from '../sites/index.js';
import { campaignKeys } from './broadcast-send.js';
import { resultKeys, siteLastClicks } from './email-results.js';

/**
 * Campaigns' part of a site's deletion (wired into deleteSite by app.ts and cli.ts): every key of the site's
 * broadcasts (progress counters, run state, results) and flows (results per step), and its people's last
 * counted clicks.
 */
export const dropSiteCampaignKeys: SiteKeyCleaner = async (redis, prefix, owned) => {
  const keys = [
    ...owned.campaignIds.flatMap((id) => [
      ...campaignKeys(prefix, id),
      ...resultKeys(prefix, { kind: 'campaign', id }),
    ]),
    ...owned.triggerIds.flatMap((id) => resultKeys(prefix, { kind: 'flow', id })),
  ];
  let dropped = 0;
  for (let i = 0; i < keys.length; i += 500) dropped += await redis.unlink(...keys.slice(i, i + 500));
  return dropped + (await unlinkMatching(redis, siteLastClicks(prefix, owned.siteId)));
};
