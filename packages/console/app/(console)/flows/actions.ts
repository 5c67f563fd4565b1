'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { attempt } from '@/lib/collector';
import * as data from '@/lib/data';
import type { FormState } from '@/lib/session-actions';

const names = (v: FormDataEntryValue | null) =>
  String(v ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The trigger form as the collector's body; numbers in the units a person thinks in (minutes, hours). */
function triggerBody(form: FormData): data.TriggerChange {
  const type = String(form.get('actionType') ?? 'email');
  const action: data.TriggerChange['action'] =
    type === 'webhook'
      ? { type: 'webhook', url: String(form.get('url') ?? '').trim() }
      : { type: 'email', subject: String(form.get('subject') ?? ''), body: String(form.get('body') ?? '') };
  return {
    name: String(form.get('name') ?? '').trim(),
    active: form.get('active') === 'on',
    entryEvent: String(form.get('entryEvent') ?? '').trim(),
    exitEvents: names(form.get('exitEvents')),
    delaySeconds: Math.round(Number(form.get('delayMinutes') ?? 0) * 60),
    reentryHours: Number(form.get('reentryHours') ?? 0),
    action,
    ...stepsOf(form.get('nextSteps')),
  };
}

/** The further steps the form's FlowStepsEditor sent (JSON); the collector checks each and says what is wrong. */
function stepsOf(raw: FormDataEntryValue | null): Pick<data.TriggerChange, 'nextSteps'> {
  if (raw === null) return {};
  try {
    const steps: unknown = JSON.parse(String(raw));
    return Array.isArray(steps) ? { nextSteps: steps } : {};
  } catch {
    return {};
  }
}

export async function createTrigger(_prev: FormState, form: FormData): Promise<FormState> {
  const r = await attempt(() => data.createTrigger(triggerBody(form)));
  if (!r.ok) return { error: r.error };
  // each webhook step's signing secret is shown once, in the answer that created it
  const secrets: Record<string, string> = {};
  for (const [i, step] of [r.value, ...r.value.nextSteps].entries()) {
    if (step.action.type === 'webhook' && step.action.secret) {
      secrets[i ? `Step ${i + 1} webhook signing secret` : 'Webhook signing secret'] = step.action.secret;
    }
  }
  if (Object.keys(secrets).length) return { message: `Trigger “${r.value.name}” created.`, secrets };
  redirect(`/flows/${r.value.id}?created=1`);
}

export async function updateTrigger(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() => data.updateTrigger(id, triggerBody(form)));
  if (!r.ok) return { error: r.error };
  revalidatePath(`/flows/${id}`);
  return { message: 'Saved. Visitors already waiting get the new action and exit events when their delay ends.' };
}

export async function deleteTrigger(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const r = await attempt(() => data.deleteTrigger(id));
  if (!r.ok) return { error: r.error };
  redirect('/flows');
}
