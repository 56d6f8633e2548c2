/**
 * One HTTP server for the throughput benchmark, in a process of its own so it has a core to
 * itself: node bench/http/server.ts <variant>. Prints its port.
 */

import * as bulwarkExpress from '@bulwark/express';
import * as bulwarkFastify from '@bulwark/fastify';
import { tokenBucket } from '@bulwark/rate-limit';
import fastifyRateLimit from '@fastify/rate-limit';
import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import Fastify from 'fastify';

// Limits far above what the benchmark sends: every request is let through and counted.
const HUGE = 1_000_000_000;
const limiter = () => tokenBucket({ capacity: HUGE, refillPerSecond: HUGE });
const body = { id: 42, name: 'user 42' };

async function expressApp(variant: string) {
  const app = express();
  app.use(express.json());
  if (variant === 'express-bulwark') app.use(bulwarkExpress.rateLimit({ limiter: limiter() }));
  if (variant === 'express-erl') {
    app.use(
      expressRateLimit({
        windowMs: 60_000,
        limit: HUGE,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
      }),
    );
  }
  app.get('/', (_req, res) => {
    res.json(body);
  });
  app.post('/payments', bulwarkExpress.idempotency(), (req, res) => {
    res.status(201).json({ id: 'pay_1', amount: (req.body as { amount?: number }).amount });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

async function fastifyApp(variant: string) {
  const app = Fastify();
  if (variant === 'fastify-bulwark') {
    await app.register(bulwarkFastify.bulwark, {
      rateLimit: bulwarkFastify.rateLimit({ limiter: limiter() }),
    });
  }
  if (variant === 'fastify-frl')
    await app.register(fastifyRateLimit, { max: HUGE, timeWindow: 60_000 });
  app.get('/', async () => body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

const variant = process.argv[2] ?? '';
const port = variant.startsWith('express') ? await expressApp(variant) : await fastifyApp(variant);
console.log(JSON.stringify({ port }));
