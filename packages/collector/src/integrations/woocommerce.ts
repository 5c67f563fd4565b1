import type { QueuedEvent } from '../pipeline/index.js';
import { address, type HookContext, type OrderLine, orderPlacedEvent, orderRefundedEvent } from './order-event.js';
import { anonymousIdIn, arr, currencyCode, idOf, type Json, type Mapped, money, obj, text } from './payload.js';

/** Statuses of an order that was paid, or is awaiting a payment the shop accepted (bank transfer): a sale. */
const PLACED = new Set(['processing', 'completed', 'on-hold']);

/**
 * WooCommerce's order webhooks (the REST API's order as payload): `order.created`, `order.updated` and
 * `order.restored` of a paid order become `order_placed` (once per order), and each entry of its `refunds`
 * becomes `order_refunded` (once per refund), so subscribing to `order.updated` alone is enough. The topic is
 * the `X-WC-Webhook-Topic` header. Unpaid orders (pending, failed, cancelled) store nothing.
 */
export function mapWooCommerce(topic: string, p: Json, ctx: HookContext): Mapped {
  if (!['order.created', 'order.updated', 'order.restored'].includes(topic)) {
    return { ignored: `topic ${topic || '(none)'} is not an order created or updated` };
  }
  const orderId = idOf(p.id);
  if (!orderId) return { ignored: 'the order has no id' };
  const status = String(p.status ?? '');
  const paid = PLACED.has(status) || Boolean(p.date_paid_gmt ?? p.date_paid);
  const events: QueuedEvent[] = [];
  if (paid) events.push(orderPlacedEvent(wooOrder(orderId, p), ctx));
  const billing = obj(p.billing);
  for (const r of arr(p.refunds)) {
    const refundId = idOf(r.id);
    const amount = Math.abs(money(r.total));
    if (!refundId || amount <= 0) continue;
    events.push(
      orderRefundedEvent(
        {
          platform: 'woocommerce',
          refundId,
          orderId,
          amount,
          currency: currencyCode(p.currency),
          // the list holds no refund times: the order's last change is when the newest refund was made
          refundedAt: gmt(p.date_modified_gmt),
          reason: text(r.reason, 500),
          email: text(billing.email),
        },
        ctx,
      ),
    );
  }
  if (!events.length)
    return { ignored: `the order is ${status || 'of no status'}: not paid, nothing refunded`, orderId };
  return { events, orderId };
}

/** WooCommerce's `_gmt` times have no zone ("2026-03-01T10:15:00"): they are UTC. */
const gmt = (v: unknown) => (typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(v) ? `${v}Z` : undefined);

const wooAddress = (a: Json) =>
  address({
    street: a.address_1,
    line2: a.address_2,
    city: a.city,
    postcode: a.postcode,
    country: a.country,
    region: a.state,
    company: a.company,
    firstName: a.first_name,
    lastName: a.last_name,
  });

function wooOrder(orderId: string, p: Json) {
  const billing = obj(p.billing);
  const shipping = obj(p.shipping);
  const items: OrderLine[] = arr(p.line_items).map((li) => {
    // line totals exclude tax; subtotal is before the coupons, total after
    const subtotal = money(li.subtotal);
    const line: OrderLine = {
      name: text(li.name) ?? '',
      sku: text(li.sku, 128) ?? '',
      amount: subtotal,
      tax: money(li.total_tax),
      discount: Math.max(0, money(subtotal - money(li.total))),
      quantity: typeof li.quantity === 'number' && li.quantity > 0 ? li.quantity : 1,
    };
    const productId = idOf(li.product_id);
    if (productId && productId !== '0') line.productId = productId;
    const variantId = idOf(li.variation_id);
    if (variantId && variantId !== '0') line.variantId = variantId;
    return line;
  });
  const number = text(p.number, 64);
  return {
    platform: 'woocommerce' as const,
    orderId,
    orderNumber: number && number !== orderId ? number : undefined,
    placedAt: gmt(p.date_paid_gmt) ?? gmt(p.date_created_gmt),
    email: text(billing.email),
    firstName: text(billing.first_name) ?? text(shipping.first_name),
    lastName: text(billing.last_name) ?? text(shipping.last_name),
    phone: text(billing.phone) ?? text(shipping.phone),
    shippingAddress: wooAddress(shipping),
    billingAddress: wooAddress(billing),
    items,
    orderTotal: money(p.total),
    shippingTotal: money(p.shipping_total) || undefined,
    currency: currencyCode(p.currency),
    anonymousId: anonymousIdIn(arr(p.meta_data), 'key'),
  };
}
