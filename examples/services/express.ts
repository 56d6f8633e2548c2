/**
 * npm run example:express   (REDIS_URL=redis://127.0.0.1:6379 to share state through Redis)
 *
 * An Express 5 service with every bulwark middleware on a real route.
 */
import { deadline, errorHandler, idempotency, loadShedding, rateLimit } from '@bulwark/express';
import express from 'express';
import { buildReport, charge, perClientLimiter, stores, usage } from './stores.js';

const state = stores('express');
const app = express();
app.set('trust proxy', 'loopback');
app.use(express.json());

app.get('/health', (_req, res) => {
  res.send('ok');
});

app.use(rateLimit({ limiter: perClientLimiter(state.rateLimit) }));

app.get('/users/:id', (req, res) => {
  res.json({ id: req.params.id, name: `user ${req.params.id}` });
});

app.post(
  '/payments',
  deadline({ ms: 2_000 }),
  idempotency({
    required: true,
    scope: (req) => String(req.headers['x-user-id'] ?? 'anonymous'),
    ...(state.idempotency ? { store: state.idempotency } : {}),
  }),
  (req, res) => {
    res.status(201).json(charge(req.body));
  },
);

app.get(
  '/reports',
  loadShedding({ maxConcurrent: 2, maxQueue: 2 }),
  deadline({ ms: 1_000 }),
  async (req, res, next) => {
    try {
      res.json(await buildReport(Number(req.query.ms ?? 100), req.signal));
    } catch (error) {
      next(error);
    }
  },
);

app.use(errorHandler());

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 3000;
  console.log(usage(`http://127.0.0.1:${port}`, state.describe));
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  void state.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
