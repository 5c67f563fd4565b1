import { createHmac } from 'node:crypto';
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';

/** The cookie holding the signed-in site's secret key: httpOnly, never readable by page scripts. */
export const SESSION_COOKIE = 'tm_session';

/** Where the console reaches the collector (server to server). */
export function collectorUrl(): string {
  return (process.env.TRACKMATE_COLLECTOR_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
}

/** The collector URL browsers and shops use, for snippets (differs behind a proxy). */
export function publicCollectorUrl(): string {
  return (process.env.TRACKMATE_PUBLIC_COLLECTOR_URL ?? collectorUrl()).replace(/\/+$/, '');
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Cookie options of the session: scripts cannot read it, other sites cannot send it. */
export function sessionCookie(key: string, secure: boolean) {
  return {
    name: SESSION_COOKIE,
    value: key,
    httpOnly: true,
    sameSite: 'strict' as const,
    secure,
    path: '/',
    maxAge: 60 * 60 * 12,
  };
}

export async function sessionKey(): Promise<string | undefined> {
  return (await cookies()).get(SESSION_COOKIE)?.value;
}

/** The visitor's address, as bin/trackmate-console.mjs set it on the request ('' outside a request). */
export async function clientIp(): Promise<string> {
  try {
    return (await headers()).get('x-trackmate-client-ip') ?? '';
  } catch {
    return '';
  }
}

/**
 * With TRACKMATE_CONSOLE_SECRET (the collector's too), each call carries the visitor's address signed, so the
 * collector counts a bad key against that visitor, not against the console that every sign-in comes through.
 */
async function clientIpHeaders(): Promise<Record<string, string>> {
  const secret = process.env.TRACKMATE_CONSOLE_SECRET;
  const ip = await clientIp();
  if (!secret || !ip) return {};
  const t = String(Math.floor(Date.now() / 1000));
  const v1 = createHmac('sha256', secret).update(`${t}.${ip}`).digest('base64url');
  return { 'x-trackmate-client-ip': ip, 'x-trackmate-client-ip-signature': `t=${t},v1=${v1}` };
}

/** One call to the collector with an explicit key; the answer as JSON, or an ApiError with its message. */
export async function callCollector<T>(key: string, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${collectorUrl()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(await clientIpHeaders()),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(502, `The collector at ${collectorUrl()} does not answer. Is it running?`);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const err = (json ?? {}) as { message?: string; code?: string };
    throw new ApiError(res.status, err.message ?? `The collector answered ${res.status}`, err.code);
  }
  return json as T;
}

/**
 * A collector call with the signed-in site's key (server components and actions only). A missing or no longer
 * valid key sends the user to the sign-in page.
 */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const key = await sessionKey();
  if (!key) redirect('/sign-in');
  try {
    return await callCollector<T>(key, method, path, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) redirect('/sign-in?expired=1');
    throw err;
  }
}

/** For server actions: the collector's message instead of a thrown error, so forms can show it. */
export async function attempt<T>(
  run: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    if (err instanceof ApiError) return { ok: false, error: err.message };
    throw err; // redirects and real bugs
  }
}

/**
 * A collector answer passed through as it streams (a CSV export), with the signed-in site's key. An error answers
 * as the collector's message in plain text, with its status.
 */
export async function streamFromCollector(path: string): Promise<Response> {
  const key = await sessionKey();
  if (!key) redirect('/sign-in');
  let res: Response;
  try {
    res = await fetch(`${collectorUrl()}${path}`, {
      headers: { authorization: `Bearer ${key}`, ...(await clientIpHeaders()) },
      cache: 'no-store',
    });
  } catch {
    return new Response(`The collector at ${collectorUrl()} does not answer. Is it running?`, { status: 502 });
  }
  if (res.status === 401) redirect('/sign-in?expired=1');
  if (!res.ok || !res.body) {
    const err = (await res.json().catch(() => ({}))) as { message?: string };
    return new Response(err.message ?? `The collector answered ${res.status}`, {
      status: res.status,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
  }
  return new Response(res.body, {
    headers: {
      'content-type': res.headers.get('content-type') ?? 'text/csv; charset=utf-8',
      'cache-control': 'no-store',
    },
  });
}
