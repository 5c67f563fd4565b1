import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { ConfirmDialog } from '@/components/confirm-dialog';
import { DeliveryTable } from '@/components/delivery-table';
import { FlowSteps, revenueLine } from '@/components/flow-steps';
import { TriggerFields } from '@/components/trigger-form';
import { getTrigger, getTriggerDeliveries, getTriggerResults } from '@/lib/data';
import { number, param } from '@/lib/format';
import { deleteTrigger, updateTrigger } from '../actions';

export const metadata: Metadata = { title: 'Flow' };

export default async function TriggerPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { id } = await params;
  const created = param((await searchParams).created);
  const [trigger, { deliveries }, results] = await Promise.all([
    getTrigger(id),
    getTriggerDeliveries(id),
    getTriggerResults(id).catch(() => undefined),
  ]);
  return (
    <>
      <p>
        <Link href="/flows">← Flows</Link>
      </p>
      <h1>{trigger.name}</h1>
      {created ? (
        <p className="success" role="status">
          Trigger created. It acts on {trigger.entryEvent} events from now on.
        </p>
      ) : null}
      <section className="panel" aria-labelledby="steps" data-results>
        <h2 id="steps" style={{ marginTop: 0 }}>
          Steps and results
        </h2>
        <FlowSteps trigger={trigger} results={results} />
        {results ? (
          <dl className="facts">
            <dt>Sent</dt>
            <dd data-sent>{number(results.sent)}</dd>
            <dt>Failed</dt>
            <dd>{number(results.failed)}</dd>
            <dt>Clicks (people)</dt>
            <dd>
              {number(results.clicks)} ({number(results.clickers)})
            </dd>
            {results.opened !== undefined ? (
              <>
                <dt>Opens (people)</dt>
                <dd data-opened>
                  {number(results.opened)} ({number(results.openers ?? 0)})
                </dd>
              </>
            ) : null}
            <dt>Unsubscribed</dt>
            <dd data-unsubscribed>{number(results.unsubscribed)}</dd>
            <dt>Orders</dt>
            <dd data-orders>{number(results.orders)}</dd>
            <dt>Revenue</dt>
            <dd data-revenue>{revenueLine(results.revenueByCurrency)}</dd>
          </dl>
        ) : null}
        <p className="hint">
          Orders and revenue: server orders within {results?.attributionWindowDays ?? 5} days after a click on one of
          the flow&apos;s e-mails, credited to the step of that e-mail and to the flow. The settings below change every
          step.
        </p>
      </section>
      <div className="grid">
        <section className="panel" aria-labelledby="edit">
          <h2 id="edit" style={{ marginTop: 0 }}>
            Settings
          </h2>
          <ActionForm action={updateTrigger} submit="Save" pending="Saving…" label="Edit trigger">
            <TriggerFields trigger={trigger} />
          </ActionForm>
          <h2>Delete</h2>
          <ConfirmDialog open="Delete trigger…" title={`Delete “${trigger.name}”?`}>
            <p>Visitors waiting in this trigger get no e-mail or webhook.</p>
            <ActionForm action={deleteTrigger} submit="Delete" danger>
              <input type="hidden" name="id" value={trigger.id} />
            </ActionForm>
          </ConfirmDialog>
        </section>
        <section className="panel" aria-labelledby="deliveries">
          <h2 id="deliveries" style={{ marginTop: 0 }}>
            Deliveries
          </h2>
          {deliveries.length ? (
            <DeliveryTable deliveries={deliveries} />
          ) : (
            <p className="muted">
              Nothing sent yet. A visitor enters on {trigger.entryEvent}; the action runs after the wait unless they do{' '}
              {trigger.exitEvents.join(' or ') || 'nothing else'} first.
            </p>
          )}
        </section>
      </div>
    </>
  );
}
