'use client';

import { type ReactNode, startTransition, useActionState } from 'react';
import type { FormState } from '../lib/session-actions';

/**
 * A form bound to a server action that answers a FormState: shows its error or message in a live region, and
 * values meant to be seen once (new keys, secrets) in a box to copy. With `keepValues`, the action is dispatched
 * from the submit event instead of by React's form action (which resets every field once it answered), so a form
 * the collector refused keeps what was typed; the `action` attribute stays, so it still posts without JavaScript.
 */
export function ActionForm({
  action,
  children,
  submit,
  pending = 'Working…',
  className,
  danger,
  label,
  keepValues,
}: {
  action: (prev: FormState, form: FormData) => Promise<FormState>;
  children?: ReactNode;
  submit: string;
  pending?: string;
  className?: string;
  danger?: boolean;
  label?: string;
  keepValues?: boolean;
}) {
  const [state, run, isPending] = useActionState(action, {});
  return (
    <form
      action={run}
      onSubmit={
        keepValues
          ? (e) => {
              e.preventDefault();
              const data = new FormData(e.currentTarget, (e.nativeEvent as SubmitEvent).submitter);
              startTransition(() => run(data));
            }
          : undefined
      }
      className={className}
      aria-label={label}
    >
      {children}
      <div className="row" style={{ marginTop: 10 }}>
        <button type="submit" disabled={isPending} className={danger ? 'danger' : undefined}>
          {isPending ? pending : submit}
        </button>
      </div>
      <div aria-live="polite">
        {state.error ? (
          <p className="error" role="alert">
            {state.error}
          </p>
        ) : null}
        {state.message ? <p className="success">{state.message}</p> : null}
        {state.secrets ? (
          <div className="panel">
            <p>
              <strong>Copy now:</strong> shown this once only.
            </p>
            <dl className="facts">
              {Object.entries(state.secrets).map(([k, v]) => (
                <div key={k} style={{ display: 'contents' }}>
                  <dt>{k}</dt>
                  <dd>
                    <code data-secret={k}>{v}</code>
                  </dd>
                </div>
              ))}
            </dl>
          </div>
        ) : null}
      </div>
    </form>
  );
}
