import { address, type HookContext, type OrderLine, orderPlacedEvent, orderRefundedEvent } from './order-event.js';
import { anonymousIdIn, arr, currencyCode, idOf, type Json, type Mapped, money, obj, text } from './payload.js';

/**
 * Shopify's order webhooks (REST payloads of the Admin API): `orders/create` and `orders/paid` become
 * `order_placed` (one per order, whichever comes first), `refunds/create` becomes `order_refunded`. The topic
 * is the `X-Shopify-Topic` header. Amounts are the shop's currency (`currency`, `total_price`).
 */
export function mapShopify(topic: string, p: Json, ctx: HookContext): Mapped {
  if (topic === 'orders/create' || topic === 'orders/paid') return shopifyOrder(p, ctx);
  if (topic === 'refunds/create') return shopifyRefund(p, ctx);
  return { ignored: `topic ${topic || '(none)'} is not an order or a refund` };
}

/** The id from `admin_graphql_api_id` (`gid://shopify/Order/123`, exact however large), else `id`. */
const gidOf = (p: Json) => {
  const gid = typeof p.admin_graphql_api_id === 'string' ? /\/(\d+)$/.exec(p.admin_graphql_api_id)?.[1] : undefined;
  return gid ?? idOf(p.id);
};

const shopifyAddress = (a: unknown) => {
  const x = obj(a);
  return address({
    street: x.address1,
    line2: x.address2,
    city: x.city,
    postcode: x.zip,
    country: x.country_code,
    region: x.province_code ?? x.province,
    company: x.company,
    firstName: x.first_name,
    lastName: x.last_name,
  });
};

function shopifyOrder(p: Json, ctx: HookContext): Mapped {
  const orderId = gidOf(p);
  if (!orderId) return { ignored: 'the order has no id' };
  const customer = obj(p.customer);
  const billing = obj(p.billing_address);
  const shipping = obj(p.shipping_address);
  const taxesIncluded = p.taxes_included === true;
  const items: OrderLine[] = arr(p.line_items).map((li) => {
    const quantity = typeof li.quantity === 'number' && li.quantity > 0 ? li.quantity : 1;
    const tax = money(arr(li.tax_lines).reduce((n, t) => n + money(t.price), 0));
    const allocations = arr(li.discount_allocations);
    const discount = allocations.length
      ? money(allocations.reduce((n, d) => n + money(d.amount), 0))
      : money(li.total_discount);
    const gross = money(money(li.price) * quantity);
    const line: OrderLine = {
      name: text(li.name) ?? text(li.title) ?? '',
      sku: text(li.sku, 128) ?? '',
      // prices that include tax (taxes_included) carry it once: the amount is what is left without it
      amount: taxesIncluded ? money(gross - tax) : gross,
      tax,
      discount,
      quantity,
    };
    const productId = idOf(li.product_id);
    const variantId = idOf(li.variant_id);
    if (productId) line.productId = productId;
    if (variantId) line.variantId = variantId;
    return line;
  });
  const shippingTotal = money(obj(obj(p.total_shipping_price_set).shop_money).amount);
  const event = orderPlacedEvent(
    {
      platform: 'shopify',
      orderId,
      orderNumber: text(p.name, 64),
      placedAt: text(p.processed_at) ?? text(p.created_at),
      email: text(p.email) ?? text(p.contact_email) ?? text(customer.email),
      firstName: text(customer.first_name) ?? text(billing.first_name) ?? text(shipping.first_name),
      lastName: text(customer.last_name) ?? text(billing.last_name) ?? text(shipping.last_name),
      phone: text(p.phone) ?? text(customer.phone) ?? text(billing.phone) ?? text(shipping.phone),
      consent:
        p.buyer_accepts_marketing === true || obj(customer.email_marketing_consent).state === 'subscribed'
          ? true
          : undefined,
      shippingAddress: shopifyAddress(shipping),
      billingAddress: shopifyAddress(billing),
      items,
      orderTotal: money(p.total_price),
      shippingTotal: shippingTotal || undefined,
      currency: currencyCode(p.currency),
      anonymousId: anonymousIdIn(arr(p.note_attributes), 'name'),
      test: p.test === true,
    },
    ctx,
  );
  return { events: [event], orderId };
}

/** A refund's money: its successful `refund` transactions (a restock without money refunds nothing). */
function shopifyRefund(p: Json, ctx: HookContext): Mapped {
  const refundId = gidOf(p);
  const orderId = idOf(p.order_id);
  if (!refundId || !orderId) return { ignored: 'the refund has no id or order id' };
  const transactions = arr(p.transactions).filter((t) => t.kind === 'refund' && t.status === 'success');
  const amount = money(transactions.reduce((n, t) => n + money(t.amount), 0));
  if (amount <= 0) return { ignored: 'the refund returns no money (no successful refund transaction)', orderId };
  const event = orderRefundedEvent(
    {
      platform: 'shopify',
      refundId,
      orderId,
      amount,
      currency: currencyCode(transactions[0]?.currency),
      refundedAt: text(p.processed_at) ?? text(p.created_at),
      reason: text(p.note, 500),
      test: transactions.some((t) => t.test === true),
    },
    ctx,
  );
  return { events: [event], orderId };
}
