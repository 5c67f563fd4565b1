'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { attempt } from '@/lib/collector';
import * as data from '@/lib/data';
import type { FormState } from '@/lib/session-actions';

/** The compose form as the collector's body; empty optional numbers are left to the collector's defaults. */
function campaignBody(form: FormData) {
  const text = (k: string) => String(form.get(k) ?? '');
  const rate = text('ratePerSecond').trim();
  const cap = text('frequencyCapHours').trim();
  return {
    name: text('name').trim(),
    segmentId: text('segmentId'),
    subject: text('subject'),
    body: text('body'),
    ...(rate ? { ratePerSecond: Number(rate) } : {}),
    frequencyCapHours: cap ? Number(cap) : null,
  };
}

const idOf = (form: FormData) => String(form.get('id') ?? '');

export async function createCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  const body = campaignBody(form);
  if (!body.segmentId) return { error: 'Choose a segment to send to (make one on the Segments page first).' };
  const r = await attempt(() => data.createCampaign(body));
  if (!r.ok) return { error: r.error };
  redirect(`/campaigns/${r.value.id}?created=1`);
}

export async function updateCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  const id = idOf(form);
  const r = await attempt(() => data.updateCampaign(id, campaignBody(form)));
  if (!r.ok) return { error: r.error };
  revalidatePath(`/campaigns/${id}`);
  return { message: 'Saved.' };
}

export async function testCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  const email = String(form.get('email') ?? '').trim();
  const profileId = String(form.get('profileId') ?? '').trim() || undefined;
  if (!email) return { error: 'Type the address to send the test to.' };
  const r = await attempt(() => data.testCampaign(idOf(form), email, profileId));
  if (!r.ok) return { error: r.error };
  return { message: `Test sent to ${email}.` };
}

/** Send now, or at the UTC time typed (`datetime-local` gives no zone: the console's times are UTC). */
export async function sendCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  const id = idOf(form);
  const raw = String(form.get('at') ?? '').trim();
  let at: string | undefined;
  if (form.get('when') === 'later') {
    if (!raw) return { error: 'Choose the day and time to send at (UTC).' };
    const t = Date.parse(/Z$|[+-]\d\d:\d\d$/.test(raw) ? raw : `${raw}${raw.length === 16 ? ':00' : ''}Z`);
    if (Number.isNaN(t)) return { error: `“${raw}” is not a date and time.` };
    if (t <= Date.now()) return { error: 'That time has passed: choose a later one, or send now.' };
    at = new Date(t).toISOString();
  }
  const r = await attempt(() => data.sendCampaign(id, at));
  if (!r.ok) return { error: r.error };
  revalidatePath(`/campaigns/${id}`);
  return { message: at ? `Scheduled for ${at.slice(0, 16).replace('T', ' ')} UTC.` : 'Sending.' };
}

async function command(form: FormData, which: 'pause' | 'resume' | 'cancel', done: string): Promise<FormState> {
  const id = idOf(form);
  const r = await attempt(() => data.campaignCommand(id, which));
  if (!r.ok) return { error: r.error };
  revalidatePath(`/campaigns/${id}`);
  return { message: done };
}
export async function pauseCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  return command(form, 'pause', 'Paused: the run stops within 24 messages.');
}
export async function resumeCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  return command(form, 'resume', 'Resumed: nobody already handled is sent again.');
}
export async function cancelCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  return command(form, 'cancel', 'Cancelled.');
}

export async function deleteCampaign(_prev: FormState, form: FormData): Promise<FormState> {
  const r = await attempt(() => data.deleteCampaign(idOf(form)));
  if (!r.ok) return { error: r.error };
  redirect('/campaigns');
}
