'use server';

import { redirect } from 'next/navigation';
import { attempt } from '@/lib/collector';
import * as data from '@/lib/data';
import { stepsOfForm } from '@/lib/funnel-form';

/** Saves the builder's funnel and shows it from its saved state. */
export async function saveFunnel(form: FormData): Promise<void> {
  const steps = stepsOfForm((k) => form.get(k)?.toString());
  const r = await attempt(() =>
    data.createFunnel({
      name: String(form.get('name') ?? '').trim() || steps.map((s) => s.event).join(' → '),
      steps,
      window: String(form.get('window') ?? '14d'),
      order: form.get('order') === 'strict' ? 'strict' : 'sequential',
    }),
  );
  if (!r.ok) redirect(`/funnels?error=${encodeURIComponent(r.error)}`);
  redirect(`/funnels?funnel=${r.value.id}&saved=1`);
}

export async function deleteFunnel(form: FormData): Promise<void> {
  await attempt(() => data.deleteFunnel(String(form.get('id') ?? '')));
  redirect('/funnels');
}
