import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** A sample payload of test/fixtures/integrations/, written from the platform's published documentation. */
// biome-ignore lint/suspicious/noExplicitAny: the samples are edited freely by the tests
export const sample = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(new URL(`../fixtures/integrations/${name}.json`, import.meta.url), 'utf8'));

/** Shopify's and WooCommerce's signature: base64 HMAC-SHA256 of the raw body. */
export const base64Hmac = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64');

/** Stripe's `Stripe-Signature` header: `t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`. */
export const stripeSignature = (secret: string, body: string, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;

/** POSTs a raw body to a platform's hook route; returns status and parsed answer. */
export async function postHook(
  baseUrl: string,
  platform: string,
  siteId: string,
  body: string,
  headers: Record<string, string>,
  contentType = 'application/json',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/api/hooks/${platform}/${siteId}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** Each platform's delivery of a payload, signed as the platform signs it. */
export function signedDeliveries(secrets: { shopify: string; woocommerce: string; stripe: string }) {
  return {
    shopify: (topic: string, payload: unknown, secret = secrets.shopify) => {
      const body = JSON.stringify(payload);
      return {
        body,
        headers: {
          'x-shopify-topic': topic,
          'x-shopify-hmac-sha256': base64Hmac(secret, body),
          'x-shopify-shop-domain': 'test-shop.myshopify.com',
          'x-shopify-webhook-id': `wh-${Math.random().toString(36).slice(2)}`,
        },
      };
    },
    woocommerce: (topic: string, payload: unknown, secret = secrets.woocommerce) => {
      const body = JSON.stringify(payload);
      return {
        body,
        headers: {
          'x-wc-webhook-topic': topic,
          'x-wc-webhook-resource': topic.split('.')[0]!,
          'x-wc-webhook-event': topic.split('.')[1]!,
          'x-wc-webhook-signature': base64Hmac(secret, body),
          'x-wc-webhook-source': 'https://kettle-shop.test/',
        },
      };
    },
    stripe: (payload: unknown, secret = secrets.stripe, t?: number) => {
      const body = JSON.stringify(payload);
      return { body, headers: { 'stripe-signature': stripeSignature(secret, body, t) } };
    },
  };
}

/**
 * Waits until the ingest queue holds no job waiting, delayed or being processed: every event acknowledged
 * before the call is then stored (or dead-lettered). A later event is no barrier — jobs run concurrently.
 */
export async function queueDrained(queue: {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`the ingest queue did not drain: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
