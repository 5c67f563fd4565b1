import type { Metadata } from 'next';
import Link from 'next/link';
import { ActionForm } from '@/components/action-form';
import { TriggerFields } from '@/components/trigger-form';
import { createTrigger } from '../actions';

export const metadata: Metadata = { title: 'New trigger' };

export default function NewTriggerPage() {
  return (
    <>
      <p>
        <Link href="/flows">← Flows</Link>
      </p>
      <h1>New abandoned-cart trigger</h1>
      <div className="panel">
        <ActionForm action={createTrigger} submit="Create trigger" pending="Creating…" label="New trigger">
          <TriggerFields />
        </ActionForm>
      </div>
    </>
  );
}
