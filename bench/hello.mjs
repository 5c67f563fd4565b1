// The baseline of the HTTP benchmark: a bare Fastify "hello world" (no logger), as fastify's own benchmarks run it.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
app.get('/health', async () => ({ status: 'ok' }));
// A second, informative baseline: what any POST of the same JSON body costs in bare Fastify (parse, 202).
app.post('/echo', async (request, reply) => reply.code(202).send({ accepted: request.body ? 1 : 0, rejected: [] }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
