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
import { ownShare, startProfiling } from './profile.ts';

// Limits far above what the benchmark sends: every request is let through and counted.
const HUGE = 1_000_000_000;
const limiter = () => tokenBucket({ capacity: HUGE, refillPerSecond: HUGE });
const body = { id: 42, name: 'user 42' };
// bulwark's rateLimit options of a variant: `<framework>-bulwark` or `<framework>-bulwark-refused`.
const bulwarkOptions = (variant: string) => ({
  limiter: limiter(),
  ...(variant.endsWith('-refused') ? { fields: 'refused' as const } : {}),
});
// The fields bulwark's rateLimit sends with these limits, as constants.
const FIELDS = { policy: `"default";q=${HUGE};w=1`, limit: `"default";r=${HUGE - 1};t=0` };

async function expressApp(variant: string) {
  const app = express();
  app.use(express.json());
  // The floor: what one middleware that does nothing costs Express.
  if (variant === 'express-empty') app.use((_req, _res, next) => next());
  // What the two RateLimit fields cost by themselves: the same two fields, constant, and no limiter.
  if (variant === 'express-fields') {
    app.use((_req, res, next) => {
      res.setHeader('RateLimit-Policy', FIELDS.policy);
      res.setHeader('RateLimit', FIELDS.limit);
      next();
    });
  }
  if (variant.startsWith('express-bulwark')) {
    app.use(bulwarkExpress.rateLimit(bulwarkOptions(variant)));
  }
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
  if (variant.startsWith('fastify-bulwark')) {
    await app.register(bulwarkFastify.bulwark, {
      rateLimit: bulwarkFastify.rateLimit(bulwarkOptions(variant)),
    });
  }
  // The floor: what one onRequest hook that does nothing costs Fastify.
  if (variant === 'fastify-empty') app.addHook('onRequest', (_request, _reply, done) => done());
  if (variant === 'fastify-fields') {
    // In lower case, as bulwark passes them: Fastify lowercases every name, and a name that is
    // already lower case costs it no new string. The cheapest way to send them through Fastify.
    app.addHook('onRequest', (_request, reply, done) => {
      reply.header('ratelimit-policy', FIELDS.policy);
      reply.header('ratelimit', FIELDS.limit);
      done();
    });
  }
  if (variant === 'fastify-frl')
    await app.register(fastifyRateLimit, { max: HUGE, timeWindow: 60_000 });
  app.get('/', async () => body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

// The benchmark asks for this process's CPU time before and after each run: CPU per request
// is the server's cost, whether or not the load generator keeps it busy.
// It may also profile a stretch of load: `{ share: path }` ends it and answers what share of
// the CPU the code under that path took.
let profiling: Awaited<ReturnType<typeof startProfiling>> | undefined;
process.on('message', async (message: 'cpu' | 'profile' | { share: string }) => {
  if (message === 'cpu') process.send?.(process.cpuUsage());
  else if (message === 'profile') {
    profiling = await startProfiling();
    process.send?.('profiling');
  } else if (profiling !== undefined) {
    const profile = await profiling.stop();
    profiling = undefined;
    process.send?.({ share: ownShare(profile, message.share) });
  }
});

const variant = process.argv[2] ?? '';
const port = variant.startsWith('express') ? await expressApp(variant) : await fastifyApp(variant);
console.log(JSON.stringify({ port }));
