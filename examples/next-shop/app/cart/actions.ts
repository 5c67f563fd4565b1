'use server';

import { randomUUID } from 'node:crypto';
import { redirect } from 'next/navigation';
import { productBySku } from '@/lib/products';
import { trackmate } from '@/lib/trackmate-server';

/**
 * Checkout (a server action): prices come from the catalogue, not from the page; the order is reported with
 * @trackmate/node as the `order_placed` payload (docs/api.md), and the browser's visitor id is linked to the
 * buyer so that their page views and add-to-carts join the profile.
 */
export async function placeOrder(form: FormData): Promise<void> {
  const text = (k: string) => String(form.get(k) ?? '').trim();
  const email = text('email');
  let cart: Array<{ sku: string; quantity: number }> = [];
  try {
    cart = JSON.parse(text('cart'));
  } catch {
    cart = [];
  }
  const items = cart.flatMap((line) => {
    const p = productBySku(line.sku);
    const quantity = Math.max(1, Math.min(99, Math.floor(Number(line.quantity) || 1)));
    return p ? [{ name: p.name, sku: p.sku, amount: p.price * quantity, tax: p.tax * quantity, discount: 0 }] : [];
  });
  if (!email || !items.length) redirect('/cart');

  // …charge the card and save the order in the shop's database…
  const orderId = `ORD-${Date.now()}-${randomUUID().slice(0, 6)}`;
  const address = { street: text('street'), city: text('city'), postcode: text('postcode'), country: text('country') };
  const profile = {
    email,
    firstName: text('firstName'),
    lastName: text('lastName'),
    phone: text('phone') || undefined,
  };
  const tm = trackmate();
  const visitor = text('anonymousId');
  if (visitor) tm.identify(profile, { anonymousId: visitor });
  tm.orderPlaced({
    orderId,
    profile,
    shippingAddress: address,
    billingAddress: address,
    items,
    orderTotal: items.reduce((n, i) => n + i.amount + i.tax - i.discount, 0),
    currency: 'INR',
  });
  await tm.flush(); // the order leaves before the page moves on (the client also retries in the background)
  redirect(`/thanks?order=${encodeURIComponent(orderId)}`);
}
