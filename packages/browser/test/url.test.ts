import { describe, expect, it } from 'vitest';
import { cleanUrl } from '../src/util/url.js';

describe('cleanUrl', () => {
  it("keeps only campaign tags and click ids by default: a GET form's fields never leave the page", () => {
    expect(
      cleanUrl(
        'https://shop.test/thanks?email=a%40b.c&firstName=Ann&lastName=Buyer&csrf=s3cr3t&q=mugs&UTM_Campaign=x&gclid=g&fbclid=f&msclkid=m&ref=home&source=ad',
      ),
    ).toBe('https://shop.test/thanks?UTM_Campaign=x&gclid=g&fbclid=f&msclkid=m&ref=home&source=ad');
    expect(cleanUrl('https://shop.test/a?firstName=Ann')).toBe('https://shop.test/a');
  });
  it('drops the fragment unless asked to keep it, and cuts to 2,048 characters', () => {
    expect(cleanUrl('https://shop.test/#/cart?token=x')).toBe('https://shop.test/');
    expect(cleanUrl('https://shop.test/#/cart', true)).toBe('https://shop.test/#/cart');
    expect(cleanUrl(`https://shop.test/?utm_term=${'x'.repeat(3_000)}`)).toHaveLength(2_048);
  });
  it("keeps the site's additions, drops a deny-list, and in full mode all but denied and secret-looking names", () => {
    const url = 'https://shop.test/?promo_code=SPRING&Customer=42&utm_term=ada&token=t&color=red&utm_source=x';
    expect(cleanUrl(url, false, { allow: ['promo_code'], deny: ['utm_term'] })).toBe(
      'https://shop.test/?promo_code=SPRING&utm_source=x',
    );
    expect(cleanUrl(url, false, { full: true, deny: ['customer'] })).toBe(
      'https://shop.test/?utm_term=ada&color=red&utm_source=x',
    );
    expect(cleanUrl(url, false, { full: true, allow: ['promo_code', 'token'] })).toBe(
      'https://shop.test/?promo_code=SPRING&Customer=42&utm_term=ada&token=t&color=red&utm_source=x',
    );
  });

  it('passes what is not a URL as it is', () => {
    expect(cleanUrl('')).toBe('');
    expect(cleanUrl('not a url')).toBe('not a url');
  });
});
