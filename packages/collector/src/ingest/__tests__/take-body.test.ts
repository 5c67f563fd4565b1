import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { takeBody } from '../ingest-request.js';

describe('takeBody', () => {
  it('hands the route its parsed body and leaves none on the request while the answer waits', async () => {
    const app = Fastify();
    let taken: unknown;
    let heldAfterwards: unknown = 'not read';
    app.addHook('onResponse', (request, _reply, done) => {
      heldAfterwards = request.body;
      done();
    });
    app.post('/events', async (request, reply) => {
      taken = takeBody(request);
      await new Promise((resolve) => setTimeout(resolve, 5)); // the Redis write
      return reply.code(202).send({ held: request.body === undefined ? 'nothing' : 'the body' });
    });
    const res = await app.inject({ method: 'POST', url: '/events', payload: { batch: [{ name: 'page_view' }] } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ held: 'nothing' });
    expect(taken).toEqual({ batch: [{ name: 'page_view' }] });
    expect(heldAfterwards).toBeUndefined();
    await app.close();
  });
});
