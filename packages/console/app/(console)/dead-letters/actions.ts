'use server';

import { revalidatePath } from 'next/cache';
import { api, attempt } from '@/lib/collector';
import type { FormState } from '@/lib/session-actions';

export async function replay(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() =>
    api<{ replayed: number; events: number }>('POST', `/api/dead-letters/${encodeURIComponent(id)}/replay`),
  );
  if (!r.ok) return { error: r.error };
  revalidatePath('/dead-letters');
  return { message: r.value.events ? `Queued again (${r.value.events} events).` : 'Queued again.' };
}
