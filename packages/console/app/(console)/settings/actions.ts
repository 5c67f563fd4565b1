'use server';

import type { Platform } from '@trackmate/schema';
import { revalidatePath } from 'next/cache';
import { attempt } from '@/lib/collector';
import { rotateKeys, updateSite } from '@/lib/data';
import { type FormState, setSession } from '@/lib/session-actions';

export async function rename(_prev: FormState, form: FormData): Promise<FormState> {
  const r = await attempt(() => updateSite({ name: String(form.get('name') ?? '').trim() }));
  if (!r.ok) return { error: r.error };
  revalidatePath('/', 'layout');
  return { message: 'Renamed.' };
}

export async function addOrigin(_prev: FormState, form: FormData): Promise<FormState> {
  const origin = String(form.get('origin') ?? '').trim();
  const r = await attempt(() => updateSite({ addOrigins: [origin] }));
  if (!r.ok) return { error: r.error };
  revalidatePath('/settings');
  return { message: `${origin} may now send events.` };
}

export async function removeOrigin(_prev: FormState, form: FormData): Promise<FormState> {
  const origin = String(form.get('origin') ?? '');
  const r = await attempt(() => updateSite({ removeOrigins: [origin] }));
  if (!r.ok) return { error: r.error };
  revalidatePath('/settings');
  return { message: `${origin} removed.` };
}

/** New keys; a new secret key replaces this session's (the old one stops working at once). */
export async function rotate(_prev: FormState, form: FormData): Promise<FormState> {
  const which = {
    write: form.get('write') === 'on',
    secret: form.get('secret') === 'on',
    ingest: form.get('ingest') === 'on',
  };
  if (!which.write && !which.secret && !which.ingest) return { error: 'Choose at least one key.' };
  const overlapSeconds = Math.max(0, Math.min(2_592_000, Math.floor(Number(form.get('overlapSeconds') ?? 0) || 0)));
  const r = await attempt(() => rotateKeys({ ...which, ...(overlapSeconds ? { overlapSeconds } : {}) }));
  if (!r.ok) return { error: r.error };
  if (which.secret && r.value.secretKey) await setSession(r.value.secretKey);
  revalidatePath('/settings');
  const secrets: Record<string, string> = {};
  if (which.write && r.value.writeKey) secrets['New write key'] = r.value.writeKey;
  if (which.secret && r.value.secretKey) secrets['New secret key'] = r.value.secretKey;
  if (which.ingest && r.value.ingestKey) secrets['New ingest-only key'] = r.value.ingestKey;
  const until = r.value.oldKeysValidUntil;
  const old = until
    ? `The old keys keep working until ${until.slice(0, 16).replace('T', ' ')} UTC.`
    : 'The old keys stopped working.';
  const next = which.write ? ' Update the write key in your pages.' : '';
  const session = which.secret ? ' This console now uses the new secret key.' : '';
  return { message: `Rotated. ${old}${next}${session}`, secrets };
}

/** Whether campaign and flow e-mails carry the open pixel (off by default). */
export async function setOpenTracking(_prev: FormState, form: FormData): Promise<FormState> {
  const on = form.get('emailOpenTracking') === 'on';
  const r = await attempt(() => updateSite({ emailOpenTracking: on }));
  if (!r.ok) return { error: r.error };
  revalidatePath('/settings');
  return {
    message: on
      ? 'Saved: e-mails sent from now on carry the open pixel.'
      : 'Saved: e-mails sent from now on carry no open pixel.',
  };
}

/** Which query parameters stored URLs keep: the allow-list plus names, or full URLs minus names. */
export async function setUrlParams(_prev: FormState, form: FormData): Promise<FormState> {
  const mode = form.get('mode') === 'full' ? 'full' : 'allow';
  const names = (field: string) =>
    String(form.get(field) ?? '')
      .split(/[\s,]+/)
      .map((n) => n.trim().toLowerCase())
      .filter(Boolean);
  const r = await attempt(() => updateSite({ urlParams: { mode, allow: names('allow'), deny: names('deny') } }));
  if (!r.ok) return { error: r.error };
  revalidatePath('/settings');
  return {
    message:
      mode === 'allow'
        ? 'Saved: URLs keep campaign tags, click ids and the names you listed.'
        : 'Saved: URLs keep every parameter except secret-looking ones and the names you listed.',
  };
}

const PLATFORM_NAMES: Record<Platform, string> = { shopify: 'Shopify', woocommerce: 'WooCommerce', stripe: 'Stripe' };

/** Sets (or, with `remove`, removes) a shop platform's webhook secret; it is stored sealed and never shown again. */
export async function setPlatformSecret(_prev: FormState, form: FormData): Promise<FormState> {
  const platform = String(form.get('platform') ?? '') as Platform;
  if (!(platform in PLATFORM_NAMES)) return { error: 'Unknown platform.' };
  const remove = form.get('remove') === 'on';
  const secret = String(form.get('secret') ?? '').trim();
  if (!remove && !secret) return { error: 'Paste the secret, or tick “remove”.' };
  const r = await attempt(() => updateSite({ integrationSecrets: { [platform]: remove ? null : secret } }));
  if (!r.ok) return { error: r.error };
  revalidatePath('/settings');
  return {
    message: remove
      ? `${PLATFORM_NAMES[platform]} secret removed: its webhooks are refused now.`
      : `${PLATFORM_NAMES[platform]} secret saved.`,
  };
}
