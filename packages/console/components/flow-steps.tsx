import type { EmailResults, Trigger } from '@trackmate/schema';
import { number } from '../lib/format';

/** A wait in the unit a person reads it in. */
export const waitLabel = (s: number) =>
  s === 0
    ? 'at once'
    : s % 86400 === 0
      ? `${s / 86400} d`
      : s % 3600 === 0
        ? `${s / 3600} h`
        : `${Math.round((s / 60) * 10) / 10} min`;

/** Revenue per currency in one line (`30.00 EUR, 12.00 USD`), or an em dash. */
export const revenueLine = (r: Record<string, number>) =>
  Object.entries(r)
    .map(
      ([c, v]) =>
        `${new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v)} ${c}`,
    )
    .join(', ') || '—';

type StepFigures = NonNullable<EmailResults['steps']>[number];
const NONE: Omit<StepFigures, 'step'> = {
  sent: 0,
  failed: 0,
  clicks: 0,
  clickers: 0,
  suspectClicks: 0,
  unsubscribed: 0,
  orders: 0,
  revenueByCurrency: {},
};

/**
 * A flow's steps in order (the first is the trigger's own action, then `nextSteps`), each with its wait and, for
 * an e-mail step, what it achieved: sent, failed, clicks, unsubscribes, and the orders and revenue credited to it (the results
 * number steps by their place in the flow, from 1).
 */
export function FlowSteps({ trigger, results }: { trigger: Trigger; results?: EmailResults }) {
  const steps = [{ delaySeconds: trigger.delaySeconds, action: trigger.action }, ...trigger.nextSteps];
  return (
    <ol className="plain flow-steps">
      {steps.map((s, i) => {
        const r =
          s.action.type === 'email' && results ? (results.steps?.find((x) => x.step === i + 1) ?? NONE) : undefined;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: a step is its place in the flow
          <li key={i} data-step={i + 1}>
            <strong>Step {i + 1}</strong>: {s.delaySeconds ? `wait ${waitLabel(s.delaySeconds)}` : 'at once'}
            {i === 0 ? ` after ${trigger.entryEvent}` : ''}, then{' '}
            {s.action.type === 'email' ? <>e-mail “{s.action.subject}”</> : <>webhook {s.action.url}</>}
            {r ? (
              <span className="muted">
                {' '}
                — sent <span data-sent>{number(r.sent)}</span>, failed {number(r.failed)}, clicks {number(r.clicks)},
                {r.opened !== undefined ? (
                  <>
                    {' '}
                    opens <span data-opened>{number(r.opened)}</span>,
                  </>
                ) : null}{' '}
                unsubscribed <span data-unsubscribed>{number(r.unsubscribed)}</span>, orders{' '}
                <span data-orders>{number(r.orders)}</span>, revenue{' '}
                <span data-revenue>{revenueLine(r.revenueByCurrency)}</span>
              </span>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}
