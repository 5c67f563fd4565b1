'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { attempt } from '@/lib/collector';
import * as data from '@/lib/data';
import type { FormState } from '@/lib/session-actions';

const events = (v: FormDataEntryValue | null) =>
  String(v ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

export async function createWebhook(_prev: FormState, form: FormData): Promise<FormState> {
  const list = events(form.get('events'));
  const r = await attempt(() =>
    data.createWebhook({ url: String(form.get('url') ?? '').trim(), events: list.length ? list : ['*'] }),
  );
  if (!r.ok) return { error: r.error };
  revalidatePath('/webhooks');
  return {
    message: `Subscribed ${r.value.url}. Verify the X-TrackMate-Signature header of each POST with this secret.`,
    secrets: { 'Signing secret': r.value.secret ?? '' },
  };
}

export async function testWebhook(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() => data.testWebhook(id));
  if (!r.ok) return { error: r.error };
  return { message: 'Test POST queued; it appears under Deliveries in a moment (reload).' };
}

export async function retryDelivery(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const delivery = String(form.get('delivery') ?? '');
  const r = await attempt(() => data.retryWebhookDelivery(id, delivery));
  if (!r.ok) return { error: r.error };
  return { message: 'Queued again.' };
}

export async function setWebhookActive(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() => data.setWebhookActive(id, form.get('active') === 'true'));
  if (!r.ok) return { error: r.error };
  redirect(`/webhooks/${id}`);
}

export async function deleteWebhook(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() => data.deleteWebhook(id));
  if (!r.ok) return { error: r.error };
  redirect('/webhooks');
}
