// A shop backend in ~100 lines: POST /checkout reports the order to TrackMate, and
// POST /webhooks/trackmate receives TrackMate's outgoing webhooks, checking their signature.
//
//   TRACKMATE_SECRET_KEY=sk_… TRACKMATE_HOST=http://127.0.0.1:8080 node server.js
import { createServer } from 'node:http';
import { TrackMate, verifyWebhookSignature } from '@trackmate/node';

const secretKey = process.env.TRACKMATE_SECRET_KEY;
if (!secretKey) {
  console.error('Set TRACKMATE_SECRET_KEY to the sk_… key that `npm start` (or `sites create`) printed.');
  process.exit(1);
}
const host = process.env.TRACKMATE_HOST ?? 'http://127.0.0.1:8080';
const port = Number(process.env.PORT ?? 3000);

// One client for the whole process. Orders are few, so send them within a second.
const trackmate = new TrackMate({ secretKey, host, flushInterval: 1000 });
trackmate.on('error', (err) => console.error(`trackmate: ${err.code} ${err.message}`));
trackmate.on('drop', ({ reason, events }) => {
  // A real shop would write these to its own database and replay them later.
  console.error(`trackmate: ${events.length} event(s) not delivered (${reason})`, JSON.stringify(events));
});

async function checkout(body) {
  const { email, firstName, lastName, phone, items, shippingAddress, billingAddress } = body;
  if (typeof email !== 'string' || !Array.isArray(items) || items.length === 0) {
    return [400, { error: 'email and at least one item are required' }];
  }
  // Use the client's idempotency key when it sends one: a retried checkout then reports one order.
  const orderId =
    typeof body.orderId === 'string' ? body.orderId : `ORD-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const lines = items.map((item) => ({
    name: String(item.name),
    sku: String(item.sku),
    amount: Number(item.amount),
    tax: Number(item.tax ?? 0),
    discount: Number(item.discount ?? 0),
  }));
  const orderTotal = round(lines.reduce((sum, l) => sum + l.amount + l.tax - l.discount, 0));

  // …charge the card, save the order in the shop's database…

  trackmate.orderPlaced({
    orderId,
    profile: { email, firstName, lastName, phone },
    shippingAddress,
    billingAddress,
    items: lines,
    orderTotal,
    currency: 'EUR',
  });
  return [201, { orderId, orderTotal }];
}

function webhook(raw, headers) {
  const ok = verifyWebhookSignature({
    body: raw, // the raw bytes: re-serialized JSON would not match the signature
    header: headers['x-trackmate-signature'],
    secret: process.env.TRACKMATE_WEBHOOK_SECRET ?? '',
  });
  if (!ok) return [400, { error: 'bad signature' }];
  const event = JSON.parse(raw.toString('utf8'));
  console.log(`webhook: ${event.name ?? event.event}`);
  return [200, { ok: true }];
}

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const raw = Buffer.concat(chunks);
  let status = 404;
  let answer = { error: 'not found' };
  try {
    if (req.method === 'POST' && req.url === '/checkout')
      [status, answer] = await checkout(JSON.parse(raw.toString('utf8')));
    else if (req.method === 'POST' && req.url === '/webhooks/trackmate') [status, answer] = webhook(raw, req.headers);
    else if (req.method === 'GET' && req.url === '/health') [status, answer] = [200, { ok: true }];
  } catch (err) {
    [status, answer] = [400, { error: String(err.message ?? err) }];
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer));
});

server.listen(port, '127.0.0.1', () => {
  console.log(`node-orders listening on http://127.0.0.1:${server.address().port}, reporting to ${host}`);
});

// Graceful shutdown: stop taking requests, then deliver every queued event before exiting.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    server.close();
    await trackmate.close({ timeout: 10_000 });
    process.exit(0);
  });
}

function round(n) {
  return Math.round(n * 100) / 100;
}
