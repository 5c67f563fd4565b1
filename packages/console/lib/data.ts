import type {
  AttributionResult,
  Campaign,
  CampaignInput,
  CampaignList,
  CampaignPatch,
  CampaignPreview,
  DeadLetterList,
  DeadLettersReplayed,
  DeliveryQueued,
  EmailResults,
  EventPage,
  Funnel,
  FunnelResult,
  Integrations,
  Metrics,
  Platform,
  Profile,
  ProfileErasure,
  ProfilePage,
  RotatedKeys,
  SavedFunnel,
  SavedFunnelInput,
  Segment,
  SegmentDefinition,
  SegmentInput,
  SegmentList,
  SegmentMemberPage,
  SegmentPatch,
  SegmentPreview,
  Site,
  StatsAggregate,
  StatsBreakdown,
  StatsRealtime,
  StatsTimeseries,
  TopPages,
  Trigger,
  TriggerDeliveryList,
  TriggerList,
  Webhook,
  WebhookDeliveryList,
  WebhookList,
} from '@trackmate/schema';
import { notFound, redirect } from 'next/navigation';
import { cache } from 'react';
import { ApiError, api } from './collector';

/**
 * Every call the console makes to the collector, one named function each, typed by the answers
 * `@trackmate/schema` defines (the same schemas the collector's routes declare). Reads are cached per request
 * (React `cache`), so a layout and a page asking for the site make one call; reads of one item answer Next's
 * not-found page for the collector's coded not-found and malformed-id errors. Writes are for server actions.
 */

const path = (...parts: string[]) => parts.map(encodeURIComponent).join('/');
const query = (params: Record<string, string | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
};

/** The collector's errors that mean "no such item here" (another site's id answers as a missing one). */
const NOT_FOUND_CODES = new Set(['TM_ERR_NOT_FOUND', 'TM_ERR_PROFILE_NOT_FOUND', 'TM_ERR_INVALID_ID']);

/** A read of one item: the not-found page when the collector says there is none. */
async function item<T>(url: string): Promise<T> {
  try {
    return await api<T>('GET', url);
  } catch (err) {
    if (err instanceof ApiError && err.code && NOT_FOUND_CODES.has(err.code)) notFound();
    throw err;
  }
}

/** An item, or null when the collector has none by that id (other errors are thrown). */
async function found<T>(url: string): Promise<T | null> {
  try {
    return await api<T>('GET', url);
  } catch (err) {
    if (err instanceof ApiError && err.code && NOT_FOUND_CODES.has(err.code)) return null;
    throw err;
  }
}

// ── reads (cached per request) ──────────────────────────────────────────────────────────────────────────────

export const getSite = cache(() => api<Site>('GET', '/api/site'));
/** The shop platforms' webhook URLs, secrets set, and their last deliveries. */
export const getIntegrations = cache(() => api<Integrations>('GET', '/api/integrations?limit=10'));

export const getMetrics = cache((from: string, to: string) =>
  api<Metrics>('GET', `/api/metrics${query({ from, to })}`),
);
export const getFunnel = cache((from: string, to: string) =>
  api<Funnel>('GET', `/api/metrics/funnel${query({ from, to })}`),
);
export const getTopPages = cache((from: string, to: string) =>
  api<TopPages>('GET', `/api/metrics/top-pages${query({ from, to })}`),
);

/** A range and its filters (`dim==value;dim!=value`), as the stats routes take them. */
export interface StatsView {
  from: string;
  to: string;
  filters?: string;
}

export const getStatsAggregate = cache((v: StatsView) =>
  api<StatsAggregate>('GET', `/api/stats/aggregate${query({ ...v, compare: 'previous' })}`),
);
export const getStatsTimeseries = cache((v: StatsView) =>
  api<StatsTimeseries>('GET', `/api/stats/timeseries${query({ ...v })}`),
);
export const getStatsBreakdown = cache((v: StatsView, dimension: string, limit = 10) =>
  api<StatsBreakdown>('GET', `/api/stats/breakdown${query({ ...v, dimension, limit: String(limit) })}`),
);
export const getStatsRealtime = cache(() => api<StatsRealtime>('GET', '/api/stats/realtime'));

/** A funnel per person: `steps` (JSON) scanned from the events, or a saved funnel's state (`funnel`). */
export interface FunnelView {
  from: string;
  to: string;
  steps?: string;
  funnel?: string;
  window?: string;
  order?: string;
  breakdown?: string;
}
export const getPersonFunnel = cache((v: FunnelView) =>
  api<FunnelResult>('GET', `/api/stats/funnel${query({ ...v })}`),
);
export const getSavedFunnels = cache(() => api<{ funnels: SavedFunnel[] }>('GET', '/api/funnels'));
export const getAttribution = cache((from: string, to: string, dimension = 'source') =>
  api<AttributionResult>('GET', `/api/stats/attribution${query({ from, to, dimension })}`),
);

/** Stored events newest first; `name` filters, `cursor` pages. */
export const getEvents = cache((limit: number, name?: string, cursor?: string) =>
  api<EventPage>('GET', `/api/events${query({ limit: String(limit), name, cursor })}`),
);

/** Profiles newest first, a page of 50 at a time. */
export const getProfiles = cache((cursor?: string) =>
  api<ProfilePage>('GET', `/api/profiles${query({ limit: '50', cursor })}`),
);
/** The profile of one of the shop's own user ids (a page of at most one). */
export const getProfilesByUserId = cache((userId: string) =>
  api<ProfilePage>('GET', `/api/profiles${query({ userId })}`),
);
/** Profiles whose e-mail starts with `q`. */
export const searchProfiles = cache((q: string, limit = 50) =>
  api<ProfilePage>('GET', `/api/profiles/search${query({ limit: String(limit), q })}`),
);
export const getProfile = cache((id: string) => item<Profile>(`/api/profiles/${path(id)}`));
export const getProfileEvents = cache((id: string, cursor?: string) =>
  item<EventPage>(`/api/profiles/${path(id)}/events${query({ limit: '50', cursor })}`),
);

export const getTriggers = cache(() => api<TriggerList>('GET', '/api/triggers'));
export const getTrigger = cache((id: string) => item<Trigger>(`/api/triggers/${path(id)}`));
/**
 * A broadcast by id, else — for a bookmark of the former Campaigns page of triggers (`/campaigns/<trigger id>`,
 * now Flows) — a redirect to the flow, else the not-found page.
 */
export const getCampaignOrFlow = cache(async (id: string) => {
  const campaign = await found<Campaign>(`/api/campaigns/${path(id)}`);
  if (campaign) return campaign;
  if (await found<Trigger>(`/api/triggers/${path(id)}`)) redirect(`/flows/${encodeURIComponent(id)}`);
  notFound();
});
export const getTriggerDeliveries = cache((id: string) =>
  item<TriggerDeliveryList>(`/api/triggers/${path(id)}/deliveries`),
);

export const getTriggerResults = cache((id: string) => item<EmailResults>(`/api/triggers/${path(id)}/results`));

export const getSegments = cache(() => api<SegmentList>('GET', '/api/segments'));
export const getSegment = cache((id: string) => item<Segment>(`/api/segments/${path(id)}`));
/** A page of 50 members in profile-id order; `cursor` is the page before's `nextCursor`. */
export const getSegmentMembers = cache((id: string, cursor?: string) =>
  item<SegmentMemberPage>(`/api/segments/${path(id)}/members${query({ limit: '50', cursor })}`),
);
/** The path of a segment's CSV export on the collector (streamed through the console's route). */
export const segmentCsvPath = (id: string) => `/api/segments/${path(id)}/members.csv`;

export const getCampaigns = cache(() => api<CampaignList>('GET', '/api/campaigns'));
export const getCampaignResults = cache((id: string) => item<EmailResults>(`/api/campaigns/${path(id)}/results`));
/** The message filled with a profile's values (default: the segment's first member). */
export const getCampaignPreview = cache((id: string, profileId?: string) =>
  api<CampaignPreview>('GET', `/api/campaigns/${path(id)}/preview${query({ profileId })}`),
);

export const getWebhooks = cache(() => api<WebhookList>('GET', '/api/webhooks'));
export const getWebhook = cache((id: string) => item<Webhook>(`/api/webhooks/${path(id)}`));
export const getWebhookDeliveries = cache((id: string) =>
  item<WebhookDeliveryList>(`/api/webhooks/${path(id)}/deliveries`),
);

export const getDeadLetters = cache((limit = 100) =>
  api<DeadLetterList>('GET', `/api/dead-letters${query({ limit: String(limit) })}`),
);

/** A person's export, as the collector answers it (streamed to the browser as a download). */
export const exportProfile = (id: string) => api<unknown>('GET', `/api/profiles/${path(id)}/export`);

// ── writes (server actions) ─────────────────────────────────────────────────────────────────────────────────

export type SiteChange = {
  name?: string;
  addOrigins?: string[];
  removeOrigins?: string[];
  urlParams?: Partial<Site['urlParams']>;
  emailOpenTracking?: boolean;
  /** A platform's webhook secret; null removes it. */
  integrationSecrets?: Partial<Record<Platform, string | null>>;
};
export const updateSite = (change: SiteChange) => api<Site>('PATCH', '/api/site', change);
export const rotateKeys = (which: { write: boolean; secret: boolean; ingest: boolean; overlapSeconds?: number }) =>
  api<RotatedKeys>('POST', '/api/site/rotate-key', which);

export const setProfileConsent = (id: string, email: boolean) =>
  api<Profile>('PATCH', `/api/profiles/${path(id)}`, { consent: { email } });
export const eraseProfile = (id: string) => api<ProfileErasure>('DELETE', `/api/profiles/${path(id)}`);

/** The trigger body as the collector takes it (`POST /api/triggers`). */
export interface TriggerChange {
  name: string;
  active: boolean;
  entryEvent: string;
  exitEvents: string[];
  delaySeconds: number;
  reentryHours: number;
  action: { type: 'email'; subject: string; body: string } | { type: 'webhook'; url: string };
  /** The steps after the first, in order (the whole list: it replaces the stored one). */
  nextSteps?: Array<{ delaySeconds: number; action: TriggerChange['action'] }>;
}
export const createTrigger = (body: TriggerChange) => api<Trigger>('POST', '/api/triggers', body);
export const updateTrigger = (id: string, body: TriggerChange) =>
  api<Trigger>('PATCH', `/api/triggers/${path(id)}`, body);
export const deleteTrigger = (id: string) => api<null>('DELETE', `/api/triggers/${path(id)}`);

export const createSegment = (body: SegmentInput) => api<Segment>('POST', '/api/segments', body);
/** How many profiles a definition being edited matches now (nothing saved). */
export const previewSegment = (definition: SegmentDefinition) =>
  api<SegmentPreview>('POST', '/api/segments/preview', { definition });
export const updateSegment = (id: string, body: SegmentPatch) =>
  api<Segment>('PATCH', `/api/segments/${path(id)}`, body);
export const deleteSegment = (id: string) => api<null>('DELETE', `/api/segments/${path(id)}`);

export const createCampaign = (body: CampaignInput) => api<Campaign>('POST', '/api/campaigns', body);
export const updateCampaign = (id: string, body: CampaignPatch) =>
  api<Campaign>('PATCH', `/api/campaigns/${path(id)}`, body);
export const deleteCampaign = (id: string) => api<null>('DELETE', `/api/campaigns/${path(id)}`);
/** Sends now, or at `at` (ISO date-time): scheduled. */
export const sendCampaign = (id: string, at?: string) =>
  api<Campaign>('POST', `/api/campaigns/${path(id)}/send`, at ? { at } : {});
export const testCampaign = (id: string, email: string, profileId?: string) =>
  api<unknown>('POST', `/api/campaigns/${path(id)}/test`, profileId ? { email, profileId } : { email });
export const campaignCommand = (id: string, command: 'pause' | 'resume' | 'cancel') =>
  api<Campaign>('POST', `/api/campaigns/${path(id)}/${command}`);

export const createFunnel = (body: SavedFunnelInput) => api<SavedFunnel>('POST', '/api/funnels', body);
export const deleteFunnel = (id: string) => api<null>('DELETE', `/api/funnels/${path(id)}`);

export const createWebhook = (body: { url: string; events: string[] }) => api<Webhook>('POST', '/api/webhooks', body);
export const setWebhookActive = (id: string, active: boolean) =>
  api<Webhook>('PATCH', `/api/webhooks/${path(id)}`, { active });
export const deleteWebhook = (id: string) => api<null>('DELETE', `/api/webhooks/${path(id)}`);
export const testWebhook = (id: string) => api<DeliveryQueued>('POST', `/api/webhooks/${path(id)}/test`);
export const retryWebhookDelivery = (id: string, deliveryId: string) =>
  api<DeliveryQueued>('POST', `/api/webhooks/${path(id)}/deliveries/${path(deliveryId)}/retry`);

export const replayDeadLetter = (id: string) =>
  api<DeadLettersReplayed>('POST', `/api/dead-letters/${path(id)}/replay`);
