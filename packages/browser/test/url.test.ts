import { describe, expect, it } from 'vitest';
import { cleanUrl } from '../src/core/url.js';

describe('cleanUrl', () => {
  it('replaces the values of secret and personal parameters, keeps the others and campaign tags', () => {
    expect(cleanUrl('https://shop.test/a?token=t1&api_key=k&Session=s&phone=1&q=mugs&utm_campaign=x&gclid=g')).toBe(
      'https://shop.test/a?token=_&api_key=_&Session=_&phone=_&q=mugs&utm_campaign=x&gclid=g',
    );
  });
  it('drops the fragment unless asked to keep it, and cuts to 2,048 characters', () => {
    expect(cleanUrl('https://shop.test/#/cart?token=x')).toBe('https://shop.test/');
    expect(cleanUrl('https://shop.test/#/cart', true)).toBe('https://shop.test/#/cart');
    expect(cleanUrl(`https://shop.test/?q=${'x'.repeat(3_000)}`)).toHaveLength(2_048);
  });
  it('cleans the parameters of a deny-list too, and sends those of an allow-list as they are', () => {
    const lists = { allow: ['promo_code'], deny: ['customer', 'utm_term'] };
    expect(cleanUrl('https://shop.test/?promo_code=SPRING&Customer=42&utm_term=ada&token=t&q=1', false, lists)).toBe(
      'https://shop.test/?promo_code=SPRING&Customer=_&utm_term=_&token=_&q=1',
    );
  });

  it('passes what is not a URL as it is', () => {
    expect(cleanUrl('')).toBe('');
    expect(cleanUrl('not a url')).toBe('not a url');
  });
});
