/** Who is being erased, by every id their queued data may carry. */
export interface PersonIds {
  siteId: string;
  profileId: string;
  email?: string;
  userId?: string;
  anonymousIds: string[];
}

/**
 * Erasure of what the queues still hold about a person (their events in ingest jobs at rest, webhook deliveries
 * naming them): the pipeline's job, handed to the profile routes by the app (the queues' contract is the
 * pipeline's, and the pipeline builds on profiles, not the other way round).
 */
export type EraseQueued = (ids: PersonIds) => Promise<{ events: number; deliveries: number }>;
