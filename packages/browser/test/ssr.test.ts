// No jsdom here: this is what server-side rendering sees.
import { expect, it } from 'vitest';
import { addToCart, flush, identify, page, track } from '../src/index.js';

it('can be imported and called during server-side rendering without throwing', async () => {
  expect(typeof window).toBe('undefined');
  for (let i = 0; i < 3; i++) {
    expect(track('render', { i })).toBeUndefined();
    expect(page()).toBeUndefined();
    expect(identify('a@b.co')).toBeUndefined();
    expect(addToCart('p', 1, 1)).toBeUndefined();
  }
  await expect(flush()).resolves.toBeUndefined();
});
