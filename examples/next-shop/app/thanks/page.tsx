import { ClearCart } from '@/components/clear-cart';

export default async function ThanksPage({ searchParams }: { searchParams: Promise<{ order?: string }> }) {
  const { order } = await searchParams;
  return (
    <>
      <ClearCart />
      <h1>Thank you!</h1>
      <p>
        Your order <strong data-order-id={order}>{order}</strong> is placed.
      </p>
    </>
  );
}
