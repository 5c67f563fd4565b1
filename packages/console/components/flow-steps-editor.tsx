'use client';

import type { FlowStepView } from '@trackmate/schema';
import { useState } from 'react';

/** A flow's steps after its first: at most nine. */
const MAX_NEXT = 9;

interface StepRow {
  delayMinutes: string;
  type: 'email' | 'webhook';
  subject: string;
  body: string;
  url: string;
}

const newRow = (): StepRow => ({
  delayMinutes: '1440',
  type: 'email',
  subject: 'Still thinking about {{event.properties.productId}}?',
  body: 'Hi {{profile.firstName}},\n\nyour cart is still waiting.\n\nUnsubscribe: {{unsubscribeUrl}}',
  url: '',
});

const rowOf = (s: FlowStepView): StepRow => ({
  delayMinutes: String(s.delaySeconds / 60),
  type: s.action.type,
  subject: s.action.type === 'email' ? s.action.subject : '',
  body: s.action.type === 'email' ? s.action.body : '',
  url: s.action.type === 'webhook' ? s.action.url : '',
});

/** A row as the collector takes a step (`nextSteps` of /api/triggers); it checks the values and says what is wrong. */
const stepOf = (r: StepRow) => ({
  delaySeconds: Math.round(Number(r.delayMinutes) * 60),
  action:
    r.type === 'webhook'
      ? { type: 'webhook' as const, url: r.url.trim() }
      : { type: 'email' as const, subject: r.subject, body: r.body },
});

/**
 * The steps of a flow after its first (step 2 on), each a wait after the step before and an e-mail or a webhook;
 * added, changed and removed here and sent to the server action as one hidden `nextSteps` field (JSON). A
 * webhook step saved again keeps its signing secret. Meant to sit inside the flow form.
 */
export function FlowStepsEditor({ steps }: { steps?: FlowStepView[] }) {
  const [rows, setRows] = useState<StepRow[]>(steps ? steps.map(rowOf) : []);
  const set = (i: number, change: Partial<StepRow>) =>
    setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <div className="flow-steps-editor">
      {rows.map((r, i) => {
        const n = i + 2;
        const id = (k: string) => `step-${n}-${k}`;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: a step is its place in the flow
          <fieldset key={i} data-step={n} style={{ marginTop: 12, border: '1px solid var(--line)', borderRadius: 6 }}>
            <legend>Step {n}</legend>
            <label htmlFor={id('delay')}>
              Step {n} wait after step {n - 1} (minutes)
            </label>
            <input
              id={id('delay')}
              type="number"
              min={0}
              step="any"
              required
              value={r.delayMinutes}
              onChange={(e) => set(i, { delayMinutes: e.target.value })}
            />
            <label htmlFor={id('type')}>Step {n} action</label>
            <select
              id={id('type')}
              value={r.type}
              onChange={(e) => set(i, { type: e.target.value as StepRow['type'] })}
            >
              <option value="email">send an e-mail</option>
              <option value="webhook">POST a signed webhook</option>
            </select>
            {r.type === 'email' ? (
              <>
                <label htmlFor={id('subject')}>Step {n} subject</label>
                <input
                  id={id('subject')}
                  maxLength={300}
                  value={r.subject}
                  onChange={(e) => set(i, { subject: e.target.value })}
                />
                <label htmlFor={id('body')}>Step {n} body</label>
                <textarea
                  id={id('body')}
                  maxLength={50000}
                  value={r.body}
                  onChange={(e) => set(i, { body: e.target.value })}
                />
              </>
            ) : (
              <>
                <label htmlFor={id('url')}>Step {n} webhook URL</label>
                <input
                  id={id('url')}
                  type="url"
                  placeholder="https://example.com/hooks/flow"
                  value={r.url}
                  onChange={(e) => set(i, { url: e.target.value })}
                />
              </>
            )}
            <button
              type="button"
              className="secondary"
              style={{ marginTop: 8 }}
              onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}
            >
              Remove step {n}
            </button>
          </fieldset>
        );
      })}
      {rows.length < MAX_NEXT ? (
        <button
          type="button"
          className="secondary"
          style={{ marginTop: 12 }}
          onClick={() => setRows((rs) => [...rs, newRow()])}
        >
          Add step {rows.length + 2}
        </button>
      ) : null}
      <input type="hidden" name="nextSteps" value={JSON.stringify(rows.map(stepOf))} />
    </div>
  );
}
