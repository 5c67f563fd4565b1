import type { SegmentDefinition, SegmentRule } from '@trackmate/schema';

/**
 * The segment builder's rows and the collector's rules, both ways. A row keeps every input as typed (strings);
 * `ruleOfRow` turns it into the rule `/api/segments` takes, leaving bad values for the collector to refuse with
 * its reason (the console adds no rules of its own).
 */
export interface RuleRow {
  kind: 'profile' | 'event' | 'value';
  /** profile */
  field: string;
  metadataKey: string;
  op: string;
  value: string;
  /** event */
  did: 'did' | 'not';
  event: string;
  atLeast: string;
  withinDays: string;
  /** value */
  metric: 'revenue' | 'orders';
  currency: string;
}

export const PROFILE_FIELDS: Array<[string, string]> = [
  ['consent', 'e-mail consent'],
  ['tags', 'tag'],
  ['country', 'country'],
  ['firstTouch.source', 'first-touch source'],
  ['firstTouch.channel', 'first-touch channel'],
  ['firstTouch.medium', 'first-touch medium'],
  ['firstTouch.campaign', 'first-touch campaign'],
  ['email', 'e-mail address'],
  ['metadata', 'metadata key…'],
];

export const PROFILE_OPS: Array<[string, string]> = [
  ['eq', 'is'],
  ['ne', 'is not'],
  ['exists', 'is set'],
  ['notExists', 'is not set'],
  ['gt', '>'],
  ['gte', '≥'],
  ['lt', '<'],
  ['lte', '≤'],
];
export const VALUE_OPS: Array<[string, string]> = [
  ['gte', '≥'],
  ['gt', '>'],
  ['eq', '='],
  ['lte', '≤'],
  ['lt', '<'],
];

export const emptyRow = (kind: RuleRow['kind'] = 'profile'): RuleRow => ({
  kind,
  field: kind === 'profile' ? 'consent' : 'tags',
  metadataKey: '',
  op: kind === 'value' ? 'gte' : 'eq',
  value: kind === 'profile' ? 'true' : '',
  did: 'did',
  event: '',
  atLeast: '1',
  withinDays: '',
  metric: 'revenue',
  currency: 'EUR',
});

const numberOr = (s: string): number | string => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);

export function ruleOfRow(r: RuleRow): SegmentRule {
  if (r.kind === 'event') {
    const rule: Record<string, unknown> = { type: 'event', event: r.event.trim() };
    if (r.did === 'not') rule.did = false;
    if (r.atLeast.trim() && r.atLeast.trim() !== '1') rule.atLeast = numberOr(r.atLeast);
    if (r.withinDays.trim()) rule.withinDays = numberOr(r.withinDays);
    return rule as SegmentRule;
  }
  if (r.kind === 'value') {
    const rule: Record<string, unknown> = { type: 'value', metric: r.metric, op: r.op, value: numberOr(r.value) };
    // an empty currency is left out: the collector answers that a revenue rule needs one
    if (r.metric === 'revenue' && r.currency.trim()) rule.currency = r.currency.trim().toUpperCase();
    return rule as SegmentRule;
  }
  const field = r.field === 'metadata' ? `metadata.${r.metadataKey.trim()}` : r.field;
  const rule: Record<string, unknown> = { type: 'profile', field, op: r.op };
  if (r.op === 'exists' || r.op === 'notExists') return rule as SegmentRule;
  if (r.field === 'consent') rule.value = r.value !== 'false';
  else if (['gt', 'gte', 'lt', 'lte'].includes(r.op) || r.field.startsWith('metadata')) rule.value = numberOr(r.value);
  else rule.value = r.value;
  return rule as SegmentRule;
}

export function rowOfRule(rule: SegmentRule): RuleRow {
  if (rule.type === 'event') {
    return {
      ...emptyRow('event'),
      did: rule.did === false ? 'not' : 'did',
      event: rule.event,
      atLeast: String(rule.atLeast ?? 1),
      withinDays: rule.withinDays ? String(rule.withinDays) : '',
    };
  }
  if (rule.type === 'value') {
    return {
      ...emptyRow('value'),
      metric: rule.metric,
      op: rule.op,
      value: String(rule.value),
      currency: rule.currency ?? 'EUR',
    };
  }
  const metadata = rule.field.startsWith('metadata.');
  return {
    ...emptyRow('profile'),
    field: metadata ? 'metadata' : rule.field,
    metadataKey: metadata ? rule.field.slice('metadata.'.length) : '',
    op: rule.op,
    value: rule.value === undefined ? '' : String(rule.value),
  };
}

const label = (pairs: Array<[string, string]>, k: string) => pairs.find(([v]) => v === k)?.[1] ?? k;

/** A rule in words, as the segment list shows it. */
export function describeRule(rule: SegmentRule): string {
  if (rule.type === 'event') {
    const times = (rule.atLeast ?? 1) > 1 ? ` at least ${rule.atLeast} times` : '';
    const when = rule.withinDays ? ` in the last ${rule.withinDays} days` : '';
    return `${rule.did === false ? 'did not do' : 'did'} ${rule.event}${times}${when}`;
  }
  if (rule.type === 'value') {
    const what = rule.metric === 'revenue' ? `revenue (${rule.currency ?? '?'})` : 'orders';
    return `${what} ${label(VALUE_OPS, rule.op)} ${rule.value}`;
  }
  const field = label(PROFILE_FIELDS, rule.field);
  if (rule.op === 'exists' || rule.op === 'notExists') return `${field} ${label(PROFILE_OPS, rule.op)}`;
  if (rule.field === 'tags') return rule.op === 'ne' ? `has not tag ${rule.value}` : `has tag ${rule.value}`;
  if (rule.field === 'consent')
    return (rule.op === 'ne') !== (rule.value === false) ? 'no e-mail consent' : 'e-mail consent';
  return `${field} ${label(PROFILE_OPS, rule.op)} ${String(rule.value)}`;
}

export function describeDefinition(d: SegmentDefinition): string {
  return d.rules.map(describeRule).join(d.match === 'all' ? ' and ' : ' or ');
}

/** The builder's hidden field back into a definition (the collector checks it). */
export function definitionOfForm(raw: FormDataEntryValue | null): SegmentDefinition | { error: string } {
  try {
    const d = JSON.parse(String(raw ?? '')) as SegmentDefinition;
    if (!d || !Array.isArray(d.rules)) return { error: 'The segment has no rules.' };
    if (d.rules.length === 0) return { error: 'Add at least one rule.' };
    return d;
  } catch {
    return { error: 'The rules could not be read; reload the page and try again.' };
  }
}
