import { notFound } from 'next/navigation';
import { AddToCart } from '@/components/add-to-cart';
import { productBySku } from '@/lib/products';

export default async function ProductPage({ params }: { params: Promise<{ sku: string }> }) {
  const product = productBySku((await params).sku);
  if (!product) notFound();
  return (
    <>
      <h1>{product.name}</h1>
      <p>{product.description}</p>
      <p>
        ₹{product.price} (+ ₹{product.tax} tax)
      </p>
      <AddToCart product={product} />
    </>
  );
}
