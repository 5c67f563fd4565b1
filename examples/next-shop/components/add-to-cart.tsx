'use client';

import { addToCart } from '@trackmate/browser';
import Link from 'next/link';
import { useState } from 'react';
import type { Product } from '@/lib/products';
import { readCart, writeCart } from './cart';

/** Puts one unit in the cart and records `add_to_cart` (productId, quantity, price). */
export function AddToCart({ product }: { product: Product }) {
  const [added, setAdded] = useState(false);
  return (
    <p>
      <button
        type="button"
        onClick={() => {
          const cart = readCart();
          const line = cart.find((l) => l.sku === product.sku);
          if (line) line.quantity += 1;
          else cart.push({ sku: product.sku, name: product.name, price: product.price, tax: product.tax, quantity: 1 });
          writeCart(cart);
          addToCart(product.sku, 1, product.price);
          setAdded(true);
        }}
      >
        Add to cart
      </button>{' '}
      {added ? (
        <span role="status">
          Added. <Link href="/cart">Go to the cart</Link>
        </span>
      ) : null}
    </p>
  );
}
