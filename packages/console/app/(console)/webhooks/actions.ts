'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { api, attempt } from '@/lib/collector';
import type { FormState } from '@/lib/session-actions';
import type { Webhook } from '@/lib/types';

const events = (v: FormDataEntryValue | null) =>
  String(v ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

export async function createWebhook(_prev: FormState, form: FormData): Promise<FormState> {
  const list = events(form.get('events'));
  const r = await attempt(() =>
    api<Webhook>('POST', '/api/webhooks', {
      url: String(form.get('url') ?? '').trim(),
      events: list.length ? list : ['*'],
    }),
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
  const r = await attempt(() => api<{ deliveryId: string }>('POST', `/api/webhooks/${encodeURIComponent(id)}/test`));
  if (!r.ok) return { error: r.error };
  return { message: 'Test POST queued; it appears under Deliveries in a moment (reload).' };
}

export async function retryDelivery(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const delivery = String(form.get('delivery') ?? '');
  const r = await attempt(() =>
    api('POST', `/api/webhooks/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(delivery)}/retry`),
  );
  if (!r.ok) return { error: r.error };
  return { message: 'Queued again.' };
}

export async function setWebhookActive(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() =>
    api('PATCH', `/api/webhooks/${encodeURIComponent(id)}`, { active: form.get('active') === 'true' }),
  );
  if (!r.ok) return { error: r.error };
  redirect(`/webhooks/${id}`);
}

export async function deleteWebhook(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() => api('DELETE', `/api/webhooks/${encodeURIComponent(id)}`));
  if (!r.ok) return { error: r.error };
  redirect('/webhooks');
}
