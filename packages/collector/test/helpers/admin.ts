// biome-ignore lint/suspicious/noExplicitAny: JSON answers are read freely by the tests
type Json = Record<string, any>;

/** Calls a secret-key admin route of the collector and returns status and parsed JSON. */
export async function adminCall(
  baseUrl: string,
  secretKey: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${secretKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}
