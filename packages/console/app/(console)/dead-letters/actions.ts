'use server';

import { revalidatePath } from 'next/cache';
import { attempt } from '@/lib/collector';
import { replayDeadLetter } from '@/lib/data';
import type { FormState } from '@/lib/session-actions';

export async function replay(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() => replayDeadLetter(id));
  if (!r.ok) return { error: r.error };
  revalidatePath('/dead-letters');
  return { message: r.value.events ? `Queued again (${r.value.events} events).` : 'Queued again.' };
}
