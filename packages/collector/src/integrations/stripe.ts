import {
  address,
  type HookContext,
  type OrderAddress,
  orderPlacedEvent,
  orderRefundedEvent,
  type PlatformRefund,
} from './order-event.js';
import { anonymousIdOf, arr, currencyCode, idOf, type Json, type Mapped, obj, text } from './payload.js';

/** Currencies Stripe counts in whole units, and those it counts in thousandths (its currencies guide). */
const ZERO_DECIMAL = new Set('BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF'.split(' '));
const THREE_DECIMAL = new Set('BHD JOD KWD OMR TND'.split(' '));

/** Stripe's integer amount in the currency's minor unit, as an amount of the currency. */
export function fromMinor(amount: unknown, currency: string | undefined): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount)) return 0;
  const c = currency ?? '';
  const unit = ZERO_DECIMAL.has(c) ? 1 : THREE_DECIMAL.has(c) ? 1000 : 100;
  return Math.round((amount / unit) * 1000) / 1000;
}

/**
 * Stripe's events (`Stripe-Signature`): a paid Checkout Session (`checkout.session.completed`, or
 * `checkout.session.async_payment_succeeded` for delayed methods) or a succeeded PaymentIntent
 * (`payment_intent.succeeded`, for integrations without Checkout) becomes `order_placed`, keyed by the
 * PaymentIntent, so both of one payment make one order; `refund.created` (or `charge.refunded`) becomes
 * `order_refunded`, keyed by the refund.
 */
export function mapStripe(event: Json, ctx: HookContext): Mapped {
  const type = String(event.type ?? '');
  const o = obj(obj(event.data).object);
  const test = event.livemode === false;
  const at = typeof event.created === 'number' ? new Date(event.created * 1000).toISOString() : undefined;
  switch (type) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded':
      return checkoutSession(o, ctx, at, test);
    case 'payment_intent.succeeded':
      return paymentIntent(o, ctx, at, test);
    case 'refund.created':
      return refunds([o], String(o.payment_intent ?? '') || String(o.charge ?? ''), ctx, test);
    case 'charge.refunded':
      return chargeRefunded(o, obj(obj(event.data).previous_attributes), ctx, test, at);
    default:
      return { ignored: `event type ${type || '(none)'} is not a payment or a refund` };
  }
}

const stripeAddress = (a: unknown, name?: string) => {
  const x = obj(a);
  const [firstName, lastName] = splitName(name);
  return address({
    street: x.line1,
    line2: x.line2,
    city: x.city,
    postcode: x.postal_code,
    country: x.country,
    region: x.state,
    firstName,
    lastName,
  });
};

/** "Ada Lovelace" → ["Ada", "Lovelace"]; Stripe keeps one name field. */
function splitName(name: unknown): [string | undefined, string | undefined] {
  const full = text(name, 400);
  if (!full) return [undefined, undefined];
  const space = full.indexOf(' ');
  return space === -1 ? [full, undefined] : [full.slice(0, space), full.slice(space + 1).trim() || undefined];
}

/** The visitor id: `metadata.trackmate_anonymous_id`, or a `client_reference_id` of `tm_<id>` (Payment Links). */
function stripeAnonymousId(o: Json): string | undefined {
  const fromMeta = anonymousIdOf(obj(o.metadata).trackmate_anonymous_id);
  if (fromMeta) return fromMeta;
  const ref = typeof o.client_reference_id === 'string' ? o.client_reference_id : '';
  return ref.startsWith('tm_') ? anonymousIdOf(ref.slice(3)) : undefined;
}

function checkoutSession(s: Json, ctx: HookContext, at: string | undefined, test: boolean): Mapped {
  if (s.mode === 'setup') return { ignored: 'a setup session takes no payment' };
  if (s.payment_status !== 'paid' && s.payment_status !== 'no_payment_required') {
    return {
      ignored: `payment_status ${String(s.payment_status)}: not paid yet (checkout.session.async_payment_succeeded follows)`,
    };
  }
  const orderId = idOf(s.payment_intent) ?? idOf(s.id);
  if (!orderId) return { ignored: 'the session has no id' };
  const currency = currencyCode(s.currency);
  const details = obj(s.customer_details);
  const totals = obj(s.total_details);
  const shipping = obj(obj(s.collected_information).shipping_details ?? s.shipping_details);
  const [firstName, lastName] = splitName(details.name);
  // the event carries no line items (only the API's list call has them): one line for the whole session
  const items = [
    {
      name: 'Stripe Checkout',
      sku: '',
      amount: fromMinor(s.amount_subtotal, currency),
      tax: fromMinor(totals.amount_tax ?? 0, currency),
      discount: fromMinor(totals.amount_discount ?? 0, currency),
      quantity: 1,
    },
  ];
  const event = orderPlacedEvent(
    {
      platform: 'stripe',
      orderId,
      placedAt: at,
      email: text(details.email) ?? text(s.customer_email),
      firstName,
      lastName,
      phone: text(details.phone),
      consent: obj(s.consent).promotions === 'opt_in' ? true : undefined,
      billingAddress: stripeAddress(details.address, text(details.name)),
      shippingAddress: shipping.address ? stripeAddress(shipping.address, text(shipping.name)) : undefined,
      items,
      orderTotal: fromMinor(s.amount_total, currency),
      shippingTotal: fromMinor(totals.amount_shipping ?? 0, currency) || undefined,
      currency,
      anonymousId: stripeAnonymousId(s),
      test,
    },
    ctx,
  );
  return { events: [event], orderId };
}

function paymentIntent(pi: Json, ctx: HookContext, at: string | undefined, test: boolean): Mapped {
  const orderId = idOf(pi.id);
  if (!orderId) return { ignored: 'the payment has no id' };
  const currency = currencyCode(pi.currency);
  const amount = fromMinor(pi.amount_received ?? pi.amount, currency);
  const shipping = obj(pi.shipping);
  const [firstName, lastName] = splitName(shipping.name);
  const shippingAddress: OrderAddress | undefined = stripeAddress(shipping.address, text(shipping.name));
  const event = orderPlacedEvent(
    {
      platform: 'stripe',
      orderId,
      placedAt: at,
      email: text(pi.receipt_email),
      firstName,
      lastName,
      phone: text(shipping.phone),
      shippingAddress,
      items: [{ name: text(pi.description) ?? 'Stripe payment', sku: '', amount, tax: 0, discount: 0, quantity: 1 }],
      orderTotal: amount,
      currency,
      anonymousId: stripeAnonymousId(pi),
      test,
    },
    ctx,
  );
  return { events: [event], orderId };
}

/** Refunds that returned or will return money (not failed or canceled), each an `order_refunded` of its own id. */
function refunds(list: Json[], orderId: string, ctx: HookContext, test: boolean, email?: string): Mapped {
  if (!orderId) return { ignored: 'the refund names no payment or charge' };
  const events = list
    .filter((r) => r.status !== 'failed' && r.status !== 'canceled')
    .flatMap((r) => {
      const refundId = idOf(r.id);
      const currency = currencyCode(r.currency);
      const amount = fromMinor(r.amount, currency);
      if (!refundId || amount <= 0) return [];
      const refund: PlatformRefund = {
        platform: 'stripe',
        refundId,
        orderId,
        amount,
        currency,
        refundedAt: typeof r.created === 'number' ? new Date(r.created * 1000).toISOString() : undefined,
        reason: text(r.reason, 200),
        email,
        test,
      };
      return [orderRefundedEvent(refund, ctx)];
    });
  return events.length ? { events, orderId } : { ignored: 'the refund failed or was canceled', orderId };
}

/**
 * `charge.refunded`: its refunds by id when the payload lists them (API versions before 2022-11-15, the same
 * ids as `refund.created`, so both events store one refund); else the rise of `amount_refunded` over its previous
 * value, keyed by the charge and the new total. Subscribe to `refund.created` or to this, not to both.
 */
function chargeRefunded(c: Json, previous: Json, ctx: HookContext, test: boolean, at?: string): Mapped {
  const orderId = idOf(c.payment_intent) ?? idOf(c.id) ?? '';
  const email = text(obj(c.billing_details).email) ?? text(c.receipt_email);
  const listed = arr(obj(c.refunds).data);
  if (listed.length) return refunds(listed, orderId, ctx, test, email);
  if (typeof previous.amount_refunded !== 'number' || typeof c.amount_refunded !== 'number') {
    return {
      ignored: 'charge.refunded names no refund and no earlier refunded amount: subscribe to refund.created',
      orderId,
    };
  }
  const rise = c.amount_refunded - previous.amount_refunded;
  const created = at ? Date.parse(at) / 1000 : undefined;
  return refunds(
    [{ id: `${String(c.id)}:${c.amount_refunded}`, amount: rise, currency: c.currency, status: 'succeeded', created }],
    orderId,
    ctx,
    test,
    email,
  );
}
