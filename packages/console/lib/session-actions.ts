'use server';

import type { Site } from '@trackmate/schema';
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { ApiError, callCollector, clientIp, SESSION_COOKIE, sessionCookie } from './collector';
import { recordFailedSignIn, signInBlockedFor } from './sign-in-limit';

export interface FormState {
  error?: string;
  message?: string;
  /** Values shown once (new keys, a webhook's secret). */
  secrets?: Record<string, string>;
}

/** The cookie is Secure when the console is reached over HTTPS (directly or through a proxy). */
async function overHttps(): Promise<boolean> {
  const h = await headers();
  return h.get('x-forwarded-proto') === 'https' || (h.get('origin') ?? '').startsWith('https://');
}

export async function setSession(key: string): Promise<void> {
  (await cookies()).set(sessionCookie(key, await overHttps()));
}

/** Sign-in: the key must open `GET /api/site`; it is then kept in an httpOnly cookie, never in the page. */
export async function signIn(_prev: FormState, form: FormData): Promise<FormState> {
  const key = String(form.get('secretKey') ?? '').trim();
  if (!key.startsWith('sk_'))
    return { error: 'A secret key starts with sk_ (the write key pk_… is public and cannot sign in).' };
  const ip = await clientIp();
  const blocked = signInBlockedFor(ip);
  if (blocked) {
    return {
      error: `Too many failed sign-ins from your address: try again in ${blocked} minute${blocked > 1 ? 's' : ''}.`,
    };
  }
  try {
    await callCollector<Site>(key, 'GET', '/api/site');
  } catch (err) {
    if (err instanceof ApiError) {
      if (err.status === 401 || err.status === 403 || err.status === 429) recordFailedSignIn(ip);
      return {
        error: err.status === 401 || err.status === 403 ? 'The collector does not know this secret key.' : err.message,
      };
    }
    throw err;
  }
  await setSession(key);
  redirect('/');
}

export async function signOut(): Promise<void> {
  (await cookies()).delete(SESSION_COOKIE);
  redirect('/sign-in');
}
