/** The collector's answers, as the console reads them (see the collector's OpenAPI document at /docs). */
export interface Site {
  siteId: string;
  name: string;
  writeKey: string;
  allowedOrigins: string[];
  createdAt: string;
}

export interface StoredEvent {
  id: string;
  messageId: string;
  name: string;
  timestamp: string;
  receivedAt: string;
  profileId: string | null;
  anonymousId: string | null;
  sessionId: string | null;
  source: string;
  properties: Record<string, unknown>;
  context?: Record<string, unknown>;
  flags?: string[];
  userAgent: string | null;
  ip: string | null;
}

export interface EventPage {
  events: StoredEvent[];
  nextCursor: string | null;
}

export interface Profile {
  id: string;
  /** Absent for a profile known only by the shop's user id. */
  email?: string;
  userId?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  consent: { email: boolean; updatedAt?: string };
  consentHistory?: Array<{ email: boolean; at: string; source: string }>;
  anonymousIds: string[];
  metadata?: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface DayMetrics {
  day: string;
  count: number;
  visitors: number;
  orders: number;
  /** Revenue of orders that name no currency. */
  revenue: number;
  /** Revenue of orders naming one, per ISO 4217 code (never added across currencies). */
  revenueByCurrency?: Record<string, number>;
}

export interface Metrics {
  from: string;
  to: string;
  events: Array<{
    name: string;
    totals: { count: number; visitorDays: number; orders: number; revenue: number };
    days: DayMetrics[];
  }>;
}

export interface Funnel {
  from: string;
  to: string;
  steps: Array<{
    name: string;
    count: number;
    visitorDays: number;
    conversionFromPrevious: number | null;
    conversionFromFirst: number | null;
  }>;
}

export interface TopPages {
  pages: Array<{ url: string; views: number }>;
}

export type TriggerAction =
  | { type: 'email'; subject: string; body: string }
  | { type: 'webhook'; url: string; signed?: boolean; secret?: string };

export interface Trigger {
  id: string;
  name: string;
  active: boolean;
  entryEvent: string;
  filters: Array<{ property: string; op: string; value?: unknown }>;
  delaySeconds: number;
  exitEvents: string[];
  reentryHours: number;
  action: TriggerAction;
  createdAt: string;
  updatedAt: string;
}

export interface Delivery {
  id: string;
  kind?: string;
  status: string;
  attempt: number;
  target: string;
  messageId?: string | null;
  responseCode: number | null;
  latencyMs: number | null;
  error: string | null;
  at: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  active: boolean;
  secret?: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeadLetter {
  id: string;
  queue: string;
  failedAt: string;
  attempts: number;
  reason: string;
  replayedAt: string | null;
  payload: unknown;
}

/** How a person is named in the console: e-mail, else the shop's user id, else the profile id. */
export const personLabel = (p: Pick<Profile, 'id' | 'email' | 'userId'>) =>
  p.email ?? (p.userId ? `user ${p.userId}` : p.id);
