'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { attempt } from '@/lib/collector';
import * as data from '@/lib/data';
import { definitionOfForm } from '@/lib/segment-form';
import type { FormState } from '@/lib/session-actions';

function segmentBody(form: FormData) {
  const definition = definitionOfForm(form.get('definition'));
  return { name: String(form.get('name') ?? '').trim(), definition };
}

export async function createSegment(_prev: FormState, form: FormData): Promise<FormState> {
  const { name, definition } = segmentBody(form);
  if ('error' in definition) return { error: definition.error };
  const r = await attempt(() => data.createSegment({ name, definition }));
  if (!r.ok) return { error: r.error };
  redirect(`/segments/${r.value.id}?created=1`);
}

export async function updateSegment(_prev: FormState, form: FormData): Promise<FormState> {
  const id = String(form.get('id') ?? '');
  const { name, definition } = segmentBody(form);
  if ('error' in definition) return { error: definition.error };
  const r = await attempt(() => data.updateSegment(id, { name, definition }));
  if (!r.ok) return { error: r.error };
  revalidatePath(`/segments/${id}`);
  return { message: 'Saved. Every profile is evaluated again; the count follows in a moment.' };
}

/**
 * The live count of the builder: how many profiles the rules being edited match now, or why the collector refuses
 * them (the same checks as saving). Called by SegmentBuilder as the rules change; stores nothing.
 */
export async function countDefinition(
  raw: string,
): Promise<{ count: number; complete: boolean; scanned: number } | { error: string }> {
  const definition = definitionOfForm(raw);
  if ('error' in definition) return definition;
  const r = await attempt(() => data.previewSegment(definition));
  return r.ok ? r.value : { error: r.error };
}

export async function deleteSegment(_prev: FormState, form: FormData): Promise<FormState> {
  const r = await attempt(() => data.deleteSegment(String(form.get('id') ?? '')));
  if (!r.ok) return { error: r.error };
  redirect('/segments');
}
