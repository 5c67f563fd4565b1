import type {
  EventRule,
  ProfileDoc,
  ProfileFactsDoc,
  ProfileRule,
  SegmentDefinition,
  SegmentRule,
  ValueRule,
} from '../models/index.js';
import { dayKey } from './facts.js';

/** What a segment's rules look at: the profile and its facts (none yet for a profile without events). */
export interface PersonView {
  profile: Pick<ProfileDoc, 'email' | 'consent' | 'metadata'>;
  facts: ProfileFactsDoc | null;
}

/** The fields a profile rule may name (besides `metadata.<key>`). */
export const PROFILE_FIELDS = [
  'email',
  'consent',
  'country',
  'tags',
  'firstTouch.source',
  'firstTouch.channel',
  'firstTouch.medium',
  'firstTouch.campaign',
] as const;

const own = (o: unknown, key: string): unknown =>
  o !== null && typeof o === 'object' && !Array.isArray(o) && Object.hasOwn(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined;

/** The value a profile rule compares: a scalar, an array (tags) or undefined when absent. */
export function fieldValue(person: PersonView, field: string): unknown {
  const { profile, facts } = person;
  switch (field) {
    case 'email':
      return profile.email ?? undefined;
    case 'consent':
      return profile.consent?.email === true;
    case 'country':
      return facts?.country ?? undefined;
    case 'tags': {
      const tags = own(profile.metadata, 'tags');
      return Array.isArray(tags) ? tags : undefined;
    }
  }
  if (field.startsWith('firstTouch.')) return own(facts?.firstTouch, field.slice('firstTouch.'.length)) ?? undefined;
  if (field.startsWith('metadata.')) {
    let v: unknown = profile.metadata;
    for (const part of field.slice('metadata.'.length).split('.')) v = own(v, part);
    return v ?? undefined;
  }
  return undefined;
}

function compare(a: unknown, op: ProfileRule['op'] | ValueRule['op'], b: unknown): boolean {
  switch (op) {
    case 'exists':
      return a !== undefined;
    case 'notExists':
      return a === undefined;
    case 'eq':
      return Array.isArray(a) ? a.includes(b) : a === b;
    case 'ne':
      return Array.isArray(a) ? !a.includes(b) : a !== b;
  }
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) return false;
  const x = a as number | string;
  const y = b as number | string;
  return op === 'gt' ? x > y : op === 'gte' ? x >= y : op === 'lt' ? x < y : x <= y;
}

/** How many times the person did the event, ever or in the last `withinDays` UTC days (today included). */
export function eventCount(facts: ProfileFactsDoc | null, rule: Pick<EventRule, 'event' | 'withinDays'>, now: Date) {
  if (!facts) return 0;
  if (!rule.withinDays) return facts.counts[rule.event] ?? 0;
  const from = dayKey(new Date(now.getTime() - (rule.withinDays - 1) * 86_400_000));
  let n = 0;
  for (const [day, count] of Object.entries(facts.days[rule.event] ?? {})) if (day >= from) n += count;
  return n;
}

function holds(rule: SegmentRule, person: PersonView, now: Date): boolean {
  switch (rule.type) {
    case 'profile':
      return compare(fieldValue(person, rule.field), rule.op, rule.value);
    case 'event': {
      const enough = eventCount(person.facts, rule, now) >= rule.atLeast;
      return rule.did ? enough : !enough;
    }
    case 'value': {
      const f = person.facts;
      const v = rule.metric === 'orders' ? (f?.orders ?? 0) : (f?.revenue[rule.currency ?? ''] ?? 0);
      return compare(v, rule.op, rule.value);
    }
  }
}

/** Whether a person belongs to a segment now. */
export function matches(definition: SegmentDefinition, person: PersonView, now = new Date()): boolean {
  return definition.match === 'any'
    ? definition.rules.some((r) => holds(r, person, now))
    : definition.rules.every((r) => holds(r, person, now));
}

/** Whether a definition's membership can change by time alone (rules over the last N days). */
export const hasDayWindow = (definition: SegmentDefinition) =>
  definition.rules.some((r) => r.type === 'event' && Boolean(r.withinDays));
