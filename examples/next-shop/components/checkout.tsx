'use client';

import { anonymousId } from '@trackmate/browser';
import { useEffect, useState } from 'react';
import { placeOrder } from '@/app/cart/actions';
import { type CartLine, readCart } from './cart';

/** The cart and the checkout form; the order itself is reported by the server action (placeOrder). */
export function Checkout() {
  const [lines, setLines] = useState<CartLine[] | null>(null);
  const [visitor, setVisitor] = useState('');
  useEffect(() => {
    setLines(readCart());
    setVisitor(anonymousId() ?? '');
  }, []);
  if (lines === null) return <p>Loading the cart…</p>;
  if (!lines.length) return <p>Your cart is empty.</p>;
  const total = lines.reduce((n, l) => n + (l.price + l.tax) * l.quantity, 0);
  return (
    <>
      <ul>
        {lines.map((l) => (
          <li key={l.sku}>
            {l.quantity} × {l.name} — ₹{l.price} + ₹{l.tax} tax
          </li>
        ))}
      </ul>
      <p>
        <strong>Total ₹{total}</strong>
      </p>
      <form action={placeOrder}>
        <input type="hidden" name="cart" value={JSON.stringify(lines)} />
        <input type="hidden" name="anonymousId" value={visitor} />
        <label>
          E-mail <input name="email" type="email" required defaultValue="jane@example.com" />
        </label>
        <label>
          First name <input name="firstName" defaultValue="Jane" />
        </label>
        <label>
          Last name <input name="lastName" defaultValue="Doe" />
        </label>
        <label>
          Phone <input name="phone" defaultValue="+911234567890" />
        </label>
        <label>
          Street <input name="street" defaultValue="123 Main St" />
        </label>
        <label>
          City <input name="city" defaultValue="Kolkata" />
        </label>
        <label>
          Postcode <input name="postcode" defaultValue="700001" />
        </label>
        <label>
          Country <input name="country" defaultValue="IN" />
        </label>
        <button type="submit">Place order</button>
      </form>
    </>
  );
}
