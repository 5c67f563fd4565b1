import { gzipSync } from 'node:zlib';

export interface ApiAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field in the tests
  body: any;
  headers: Headers;
}

/** A request to a secret-key route, as a backend would make it. `key: null` sends no Authorization header. */
export async function secretApi(
  url: string,
  key: string | null,
  method: string,
  path: string,
  body?: unknown,
  init: { gzip?: boolean; contentType?: string; raw?: string } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  let payload: string | Uint8Array | undefined = init.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined) headers['content-type'] = init.contentType ?? 'application/json';
  if (init.gzip && payload !== undefined) {
    payload = new Uint8Array(gzipSync(payload));
    headers['content-encoding'] = 'gzip';
  }
  const res = await fetch(`${url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** The `order_placed` payload of docs/api.md, verbatim. */
export function specOrder(): Record<string, unknown> {
  return JSON.parse(`{
  "event": "order_placed",
  "orderId": "1234",
  "profile": {
    "firstName": "Jane",
    "lastName": "Doe",
    "email": "jane@example.com",
    "phone": "+911234567890"
  },
  "shippingAddress": {
    "street": "123 Main St",
    "city": "Kolkata",
    "postcode": "700001",
    "country": "IN"
  },
  "billingAddress": {
    "street": "123 Main St",
    "city": "Kolkata",
    "postcode": "700001",
    "country": "IN"
  },
  "items": [
    {
      "name": "T-Shirt",
      "sku": "TSHIRT001",
      "amount": 499,
      "tax": 49,
      "discount": 0
    }
  ],
  "orderTotal": 548,
  "timestamp": "2025-08-27T18:30:00Z"
}`);
}
