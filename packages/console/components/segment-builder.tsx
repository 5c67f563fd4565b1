'use client';

import type { SegmentDefinition } from '@trackmate/schema';
import { useEffect, useState } from 'react';
import {
  emptyRow,
  PROFILE_FIELDS,
  PROFILE_OPS,
  type RuleRow,
  rowOfRule,
  ruleOfRow,
  VALUE_OPS,
} from '../lib/segment-form';

const MAX_RULES = 20;
/** The pause after the last change before the rules are counted. */
const COUNT_AFTER_MS = 500;

type LiveCount = { count: number; complete: boolean; scanned: number } | { error: string };
/** The server action that counts a definition (JSON) without saving it. */
export type CountDefinition = (definition: string) => Promise<LiveCount>;

/**
 * How many profiles the rules match now, counted again a moment after each change (an answer to rules since
 * changed is dropped); the collector's reason when it would refuse them.
 */
function useLiveCount(definition: string, count?: CountDefinition) {
  const [state, setState] = useState<LiveCount | 'counting' | null>(null);
  useEffect(() => {
    if (!count) return;
    let current = true;
    setState('counting');
    const timer = setTimeout(() => {
      count(definition)
        .then((answer) => current && setState(answer))
        .catch(() => current && setState({ error: 'The count could not be read.' }));
    }, COUNT_AFTER_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [definition, count]);
  return state;
}

function LiveCountLine({ state }: { state: ReturnType<typeof useLiveCount> }) {
  if (state === null) return null;
  const text =
    state === 'counting'
      ? 'Counting…'
      : 'error' in state
        ? state.error
        : state.complete
          ? `${state.count.toLocaleString('en')} ${state.count === 1 ? 'person matches' : 'people match'} these rules now`
          : `${state.count.toLocaleString('en')} of ${state.scanned.toLocaleString('en')} profiles read match these rules (the saved segment counts everyone)`;
  return (
    <p
      className={typeof state === 'object' && 'error' in state ? 'error' : 'hint'}
      data-live-count={typeof state === 'object' && 'count' in state ? state.count : ''}
      aria-live="polite"
    >
      {text}
    </p>
  );
}

/**
 * A segment's rules, one row each (a profile field, an event done or not, orders or revenue), sent to the
 * server action as one hidden `definition` field, with a live count of the people they match (`count`, a server
 * action) while they are edited. Meant to sit inside an ActionForm.
 */
export function SegmentBuilder({
  name,
  definition,
  count,
}: {
  name?: string;
  definition?: SegmentDefinition;
  count?: CountDefinition;
}) {
  const [match, setMatch] = useState<'all' | 'any'>(definition?.match ?? 'all');
  const [rows, setRows] = useState<RuleRow[]>(definition ? definition.rules.map(rowOfRule) : [emptyRow()]);
  const set = (i: number, change: Partial<RuleRow>) =>
    setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...change } : r)));
  const value = JSON.stringify({ match, rules: rows.map(ruleOfRow) });
  const live = useLiveCount(value, count);
  return (
    <div className="segment-builder">
      <label htmlFor="segment-name">Name</label>
      <input id="segment-name" name="name" required maxLength={200} defaultValue={name} />
      <label htmlFor="segment-match">People who match</label>
      <select id="segment-match" value={match} onChange={(e) => setMatch(e.target.value as 'all' | 'any')}>
        <option value="all">all of the rules</option>
        <option value="any">any of the rules</option>
      </select>
      <ol className="plain">
        {rows.map((r, i) => {
          const n = i + 1;
          const id = (k: string) => `rule-${i}-${k}`;
          return (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place
            <li key={i} className="panel rule" data-rule={n}>
              <div className="row">
                <div>
                  <label htmlFor={id('kind')}>Rule {n} kind</label>
                  <select
                    id={id('kind')}
                    value={r.kind}
                    onChange={(e) => set(i, emptyRow(e.target.value as RuleRow['kind']))}
                  >
                    <option value="profile">profile field</option>
                    <option value="event">behaviour (an event)</option>
                    <option value="value">orders or revenue</option>
                  </select>
                </div>
                {r.kind === 'profile' ? (
                  <>
                    <div>
                      <label htmlFor={id('field')}>Rule {n} field</label>
                      <select
                        id={id('field')}
                        value={r.field}
                        onChange={(e) =>
                          set(i, {
                            field: e.target.value,
                            op: 'eq',
                            value: e.target.value === 'consent' ? 'true' : '',
                          })
                        }
                      >
                        {PROFILE_FIELDS.map(([v, l]) => (
                          <option key={v} value={v}>
                            {l}
                          </option>
                        ))}
                      </select>
                    </div>
                    {r.field === 'metadata' ? (
                      <div>
                        <label htmlFor={id('key')}>Rule {n} metadata key</label>
                        <input
                          id={id('key')}
                          value={r.metadataKey}
                          placeholder="plan or address.city"
                          onChange={(e) => set(i, { metadataKey: e.target.value })}
                        />
                      </div>
                    ) : null}
                    <div>
                      <label htmlFor={id('op')}>Rule {n} comparison</label>
                      <select id={id('op')} value={r.op} onChange={(e) => set(i, { op: e.target.value })}>
                        {(r.field === 'tags' || r.field === 'consent'
                          ? PROFILE_OPS.filter(([v]) => v === 'eq' || v === 'ne')
                          : PROFILE_OPS
                        ).map(([v, l]) => (
                          <option key={v} value={v}>
                            {r.field === 'tags' ? (v === 'eq' ? 'has' : 'has not') : l}
                          </option>
                        ))}
                      </select>
                    </div>
                    {r.op === 'exists' || r.op === 'notExists' ? null : (
                      <div>
                        <label htmlFor={id('value')}>Rule {n} value</label>
                        {r.field === 'consent' ? (
                          <select id={id('value')} value={r.value} onChange={(e) => set(i, { value: e.target.value })}>
                            <option value="true">given</option>
                            <option value="false">not given</option>
                          </select>
                        ) : (
                          <input
                            id={id('value')}
                            value={r.value}
                            placeholder={r.field === 'country' ? 'DE' : r.field === 'tags' ? 'vip' : ''}
                            onChange={(e) => set(i, { value: e.target.value })}
                          />
                        )}
                      </div>
                    )}
                  </>
                ) : null}
                {r.kind === 'event' ? (
                  <>
                    <div>
                      <label htmlFor={id('did')}>Rule {n} did</label>
                      <select
                        id={id('did')}
                        value={r.did}
                        onChange={(e) => set(i, { did: e.target.value as RuleRow['did'] })}
                      >
                        <option value="did">did</option>
                        <option value="not">did not do</option>
                      </select>
                    </div>
                    <div>
                      <label htmlFor={id('event')}>Rule {n} event</label>
                      <input
                        id={id('event')}
                        value={r.event}
                        placeholder="add_to_cart"
                        onChange={(e) => set(i, { event: e.target.value })}
                      />
                    </div>
                    <div>
                      <label htmlFor={id('atLeast')}>Rule {n} at least (times)</label>
                      <input
                        id={id('atLeast')}
                        type="number"
                        min={1}
                        value={r.atLeast}
                        onChange={(e) => set(i, { atLeast: e.target.value })}
                      />
                    </div>
                    <div>
                      <label htmlFor={id('withinDays')}>Rule {n} in the last (days, empty: ever)</label>
                      <input
                        id={id('withinDays')}
                        type="number"
                        min={1}
                        value={r.withinDays}
                        onChange={(e) => set(i, { withinDays: e.target.value })}
                      />
                    </div>
                  </>
                ) : null}
                {r.kind === 'value' ? (
                  <>
                    <div>
                      <label htmlFor={id('metric')}>Rule {n} metric</label>
                      <select
                        id={id('metric')}
                        value={r.metric}
                        onChange={(e) => set(i, { metric: e.target.value as RuleRow['metric'] })}
                      >
                        <option value="revenue">revenue</option>
                        <option value="orders">orders</option>
                      </select>
                    </div>
                    <div>
                      <label htmlFor={id('op')}>Rule {n} comparison</label>
                      <select id={id('op')} value={r.op} onChange={(e) => set(i, { op: e.target.value })}>
                        {VALUE_OPS.map(([v, l]) => (
                          <option key={v} value={v}>
                            {l}
                          </option>
                        ))}
                      </select>
                    </div>
                    <div>
                      <label htmlFor={id('value')}>Rule {n} value</label>
                      <input
                        id={id('value')}
                        inputMode="decimal"
                        value={r.value}
                        onChange={(e) => set(i, { value: e.target.value })}
                      />
                    </div>
                    {r.metric === 'revenue' ? (
                      <div>
                        <label htmlFor={id('currency')}>Rule {n} currency</label>
                        <input
                          id={id('currency')}
                          value={r.currency}
                          placeholder="EUR"
                          maxLength={3}
                          onChange={(e) => set(i, { currency: e.target.value })}
                        />
                      </div>
                    ) : null}
                  </>
                ) : null}
                {rows.length > 1 ? (
                  <button
                    type="button"
                    className="secondary"
                    onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}
                  >
                    Remove rule {n}
                  </button>
                ) : null}
              </div>
            </li>
          );
        })}
      </ol>
      {rows.length < MAX_RULES ? (
        <button type="button" className="secondary" onClick={() => setRows((rs) => [...rs, emptyRow()])}>
          Add rule
        </button>
      ) : null}
      <LiveCountLine state={live} />
      <input type="hidden" name="definition" value={value} />
    </div>
  );
}
