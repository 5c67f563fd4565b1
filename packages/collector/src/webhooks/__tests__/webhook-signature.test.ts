import { verifyWebhookSignature } from '@trackmate/node';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../webhook-signature.js';

describe('webhook signatures', () => {
  it('signs webhooks in the format @trackmate/node verifies, and no other secret or body verifies', () => {
    const body = JSON.stringify({ id: 'whd-1', type: 'event', event: { name: 'page_view' } });
    const header = signWebhook('whsec_abc', body);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ body, header, secret: 'whsec_abc' })).toBe(true);
    expect(verifyWebhookSignature({ body: `${body} `, header, secret: 'whsec_abc' })).toBe(false);
    expect(verifyWebhookSignature({ body, header, secret: 'whsec_abd' })).toBe(false);
  });
});
