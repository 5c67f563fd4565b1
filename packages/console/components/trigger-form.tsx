import type { Trigger } from '@trackmate/schema';
import { FlowStepsEditor } from './flow-steps-editor';

/** The fields of a flow (a campaign trigger), every step of it; the defaults are the abandoned-cart campaign. */
export function TriggerFields({ trigger }: { trigger?: Trigger }) {
  const email = trigger?.action.type === 'email' ? trigger.action : undefined;
  const webhook = trigger?.action.type === 'webhook' ? trigger.action : undefined;
  const type = trigger?.action.type ?? 'email';
  return (
    <>
      {trigger ? <input type="hidden" name="id" value={trigger.id} /> : null}
      <label htmlFor="name">Name</label>
      <input id="name" name="name" required maxLength={200} defaultValue={trigger?.name ?? 'Abandoned cart'} />
      <label className="inline" style={{ marginTop: 10 }}>
        <input type="checkbox" name="active" defaultChecked={trigger?.active ?? true} /> Active
      </label>
      <label htmlFor="entryEvent">When a visitor does</label>
      <input
        id="entryEvent"
        name="entryEvent"
        required
        pattern="[a-z][a-z0-9_]{0,63}"
        defaultValue={trigger?.entryEvent ?? 'add_to_cart'}
      />
      <label htmlFor="delayMinutes">Wait (minutes)</label>
      <input
        id="delayMinutes"
        name="delayMinutes"
        type="number"
        min={0}
        max={43200}
        step="any"
        required
        defaultValue={trigger ? trigger.delaySeconds / 60 : 60}
      />
      <label htmlFor="exitEvents">Unless in the meantime they do (event names, comma-separated)</label>
      <input
        id="exitEvents"
        name="exitEvents"
        defaultValue={trigger ? trigger.exitEvents.join(', ') : 'order_placed'}
      />
      <label htmlFor="reentryHours">At most once per visitor every (hours)</label>
      <input
        id="reentryHours"
        name="reentryHours"
        type="number"
        min={0}
        max={8760}
        step="any"
        defaultValue={trigger?.reentryHours ?? 24}
      />
      <fieldset style={{ marginTop: 12, border: '1px solid var(--line)', borderRadius: 6 }}>
        <legend>Step 1: then</legend>
        <label className="inline">
          <input type="radio" name="actionType" value="email" defaultChecked={type === 'email'} /> send an e-mail (to
          profiles with e-mail consent)
        </label>
        <label htmlFor="subject">Subject</label>
        <input
          id="subject"
          name="subject"
          maxLength={300}
          defaultValue={email?.subject ?? 'You left {{event.properties.productId}} in your cart'}
        />
        <label htmlFor="body">Body</label>
        <textarea
          id="body"
          name="body"
          maxLength={50000}
          defaultValue={
            email?.body ??
            'Hi {{profile.firstName}},\n\nyour {{event.properties.productId}} is still waiting in your cart.\n\nUnsubscribe: {{unsubscribeUrl}}'
          }
        />
        <p className="hint">
          Values: {'{{profile.firstName}}'}, {'{{event.properties.x}}'}, {'{{unsubscribeUrl}}'}.
        </p>
        <label className="inline">
          <input type="radio" name="actionType" value="webhook" defaultChecked={type === 'webhook'} /> or POST a signed
          webhook
        </label>
        <label htmlFor="url">Webhook URL</label>
        <input
          id="url"
          name="url"
          type="url"
          placeholder="https://example.com/hooks/cart"
          defaultValue={webhook?.url}
        />
      </fieldset>
      <FlowStepsEditor steps={trigger?.nextSteps} />
    </>
  );
}
