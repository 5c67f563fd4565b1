import { Checkout } from '@/components/checkout';

export default function CartPage() {
  return (
    <>
      <h1>Cart</h1>
      <Checkout />
    </>
  );
}
