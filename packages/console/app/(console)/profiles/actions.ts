'use server';

import { redirect } from 'next/navigation';
import { attempt } from '@/lib/collector';
import { eraseProfile as erase, setProfileConsent } from '@/lib/data';
import type { FormState } from '@/lib/session-actions';

/** Erasure, confirmed by typing the person's e-mail (or user id); then back to the list with what was deleted. */
export async function eraseProfile(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const label = String(form.get('label') ?? '');
  const typed = String(form.get('confirm') ?? '').trim();
  if (!label || typed.toLowerCase() !== label.toLowerCase()) return { error: `Type ${label} exactly to confirm.` };
  const r = await attempt(() => erase(id));
  if (!r.ok) return { error: r.error };
  redirect(`/profiles?erased=${encodeURIComponent(label)}&events=${r.value.deleted.events ?? 0}`);
}

export async function setConsent(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const email = form.get('consent') === 'true';
  const r = await attempt(() => setProfileConsent(id, email));
  if (!r.ok) return { error: r.error };
  redirect(`/profiles/${id}`);
}
