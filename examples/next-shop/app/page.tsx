import Link from 'next/link';
import { PRODUCTS } from '@/lib/products';

export default function ShopPage() {
  return (
    <>
      <h1>Next shop</h1>
      <ul>
        {PRODUCTS.map((p) => (
          <li key={p.sku}>
            <Link href={`/product/${p.sku}`}>{p.name}</Link> — ₹{p.price}
          </li>
        ))}
      </ul>
    </>
  );
}
