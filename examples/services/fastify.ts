/**
 * npm run example:fastify   (REDIS_URL=redis://127.0.0.1:6379 to share state through Redis)
 *
 * A Fastify 5 service with the bulwark plugin: defaults for every route, options per route.
 */
import { bulwark, deadline, idempotency, loadShedding, rateLimit } from '@bulwark/fastify';
import Fastify from 'fastify';
import { buildReport, charge, perClientLimiter, stores, usage } from './stores.js';

const state = stores('fastify');
const app = Fastify({ trustProxy: '127.0.0.1' });

await app.register(bulwark, {
  rateLimit: rateLimit({ limiter: perClientLimiter(state.rateLimit) }),
});

app.get('/health', { config: { bulwark: { rateLimit: false } } }, async () => 'ok');

app.get<{ Params: { id: string } }>('/users/:id', async (request) => ({
  id: request.params.id,
  name: `user ${request.params.id}`,
}));

const payments = idempotency({
  required: true,
  scope: (request) => String(request.headers['x-user-id'] ?? 'anonymous'),
  ...(state.idempotency ? { store: state.idempotency } : {}),
});
app.post(
  '/payments',
  { config: { bulwark: { idempotency: payments, deadline: deadline({ ms: 2_000 }) } } },
  async (request, reply) => reply.code(201).send(charge(request.body)),
);

app.get<{ Querystring: { ms?: string } }>(
  '/reports',
  {
    config: {
      bulwark: {
        loadShedding: loadShedding({ maxConcurrent: 2, maxQueue: 2 }),
        deadline: deadline({ ms: 1_000 }),
      },
    },
  },
  async (request) => buildReport(Number(request.query.ms ?? 100), request.signal),
);

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
console.log(usage(url, state.describe));

const stop = () => {
  void app.close().then(() => state.close());
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
