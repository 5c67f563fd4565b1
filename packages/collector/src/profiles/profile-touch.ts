/** The profile a profile-creating event carries, keyed by e-mail, by the site's own userId, or by both. */
export interface ProfileUpsert {
  email?: string;
  userId?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  /** An explicit consent decision carried by the event, if any. */
  consent?: boolean;
  consentSource: 'form' | 'identify' | 'api' | 'server';
}

/** One profile-creating event of an ingest job. */
export interface ProfileTouch {
  /** `server` for a backend's event (secret key): its names stand against later browser events. */
  from: 'client' | 'server';
  siteId: string;
  anonymousId: string | null;
  /** The event's time: later events' names win, and consent decisions are ordered by it. */
  at: Date;
  profile: ProfileUpsert;
  /** An e-mail a browser paired with the touch's userId that no backend bound to it (kept as unverified). */
  claimedEmail?: string;
}
