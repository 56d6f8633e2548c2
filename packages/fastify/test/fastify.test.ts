import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { isResilienceError, RateLimitedError, TimeoutError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { bulwark, deadline, idempotency, loadShedding, rateLimit } from '@bulwark/fastify';
import { type IdempotencyStore, memoryIdempotencyStore } from '@bulwark/idempotency';
import { tokenBucket } from '@bulwark/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { call, deferred } from '../../http/test/conformance/index.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) {
    app.server.closeAllConnections();
    await app.close();
  }
});

async function serve(app: FastifyInstance): Promise<string> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

const perMinute = (capacity: number) =>
  tokenBucket({ capacity, refillPerSecond: capacity / 60, clock: manualClock() });

describe('@bulwark/fastify plugin', () => {
  it('protects every route registered after it with its defaults', async () => {
    const app = Fastify();
    await app.register(bulwark, { rateLimit: rateLimit({ limiter: perMinute(1) }) });
    app.get('/a', async () => 'a');
    app.register(
      async (child) => {
        child.get('/b', async () => 'b');
      },
      { prefix: '/child' },
    );
    const url = await serve(app);
    expect((await call(`${url}/a`)).headers.get('ratelimit')).toMatch(/r=0/);
    // One limiter: the routes share the client's bucket.
    expect((await call(`${url}/child/b`)).status).toBe(429);
  });

  it('lets a route replace a default, or turn it off with false', async () => {
    const app = Fastify();
    await app.register(bulwark, { rateLimit: rateLimit({ limiter: perMinute(1) }) });
    app.get(
      '/own',
      {
        config: { bulwark: { rateLimit: rateLimit({ limiter: perMinute(5), policyName: 'own' }) } },
      },
      async () => 'own',
    );
    app.get('/free', { config: { bulwark: { rateLimit: false } } }, async () => 'free');
    const url = await serve(app);
    expect((await call(`${url}/own`)).headers.get('ratelimit-policy')).toBe('"own";q=5;w=60');
    const free = await call(`${url}/free`);
    expect(free.status).toBe(200);
    expect(free.headers.get('ratelimit')).toBeNull();
  });

  it('refuses a route option that is not a protection', async () => {
    const app = Fastify();
    await app.register(bulwark);
    expect(() =>
      app.get(
        '/x',
        { config: { bulwark: { rateLimit: { limiter: perMinute(1) } as never } } },
        async () => 'x',
      ),
    ).toThrow(/rateLimit must be what rateLimit\(\.\.\.\) of @bulwark\/fastify returns, or false/);
    expect(() =>
      app.get('/y', { config: { bulwark: { retry: false } as never } }, async () => 'y'),
    ).toThrow(/unknown option "retry"/);
  });

  it('refuses plugin options that are not protections', async () => {
    const app = Fastify();
    await expect(app.register(bulwark, { deadline: { ms: 5 } as never })).rejects.toThrow(
      /deadline must be what deadline\(\.\.\.\) of @bulwark\/fastify returns/,
    );
  });

  it('runs the idempotency preHandler after the route its own, so scope can read the user', async () => {
    const app = Fastify();
    await app.register(bulwark);
    app.decorateRequest('user', '');
    let runs = 0;
    app.post(
      '/orders',
      {
        preHandler: async (request) => {
          (request as unknown as { user: string }).user = String(request.headers.authorization);
        },
        config: {
          bulwark: {
            idempotency: idempotency({
              scope: (request) => (request as unknown as { user: string }).user,
            }),
          },
        },
      },
      async () => ({ n: ++runs }),
    );
    const url = await serve(app);
    const as = (user: string) =>
      call(`${url}/orders`, {
        method: 'POST',
        headers: { authorization: user, 'idempotency-key': 'k' },
        body: {},
      });
    await as('alice');
    await as('bob');
    expect((await as('alice')).json).toEqual({ n: 1 });
    expect(runs).toBe(2);
  });

  it('captures a streamed reply and replays it whole', async () => {
    const app = Fastify();
    await app.register(bulwark);
    let runs = 0;
    app.post(
      '/export',
      { config: { bulwark: { idempotency: idempotency() } } },
      async (_request, reply) => {
        runs++;
        return reply.type('text/csv').send(Readable.from(['a,b\n', '1,2\n']));
      },
    );
    const url = await serve(app);
    const headers = { 'idempotency-key': 'stream' };
    const first = await call(`${url}/export`, { method: 'POST', headers });
    const replay = await call(`${url}/export`, { method: 'POST', headers });
    expect(first.text).toBe('a,b\n1,2\n');
    expect(replay.text).toBe('a,b\n1,2\n');
    expect(replay.headers.get('content-type')).toBe('text/csv');
    expect(replay.headers.get('content-length')).toBe('8');
    expect(runs).toBe(1);
  });

  it('stores the reply before any of it reaches the socket', async () => {
    const gate = deferred();
    const stored = deferred<boolean>();
    let reply: FastifyReply | undefined;
    const inner = memoryIdempotencyStore();
    const store: IdempotencyStore = {
      claim: (...a) => inner.claim(...a),
      renew: (...a) => inner.renew(...a),
      release: (...a) => inner.release(...a),
      get: (...a) => inner.get(...a),
      delete: (...a) => inner.delete(...a),
      complete: async (...a) => {
        stored.resolve(reply?.raw.headersSent === false && reply.raw.writableFinished === false);
        await gate.promise;
        return inner.complete(...a);
      },
    };
    const app = Fastify();
    await app.register(bulwark);
    app.post(
      '/pay',
      { config: { bulwark: { idempotency: idempotency({ store }) } } },
      async (_request, r) => {
        reply = r;
        return r.code(201).send({ paid: true });
      },
    );
    const url = await serve(app);
    const answer = call(`${url}/pay`, {
      method: 'POST',
      headers: { 'idempotency-key': 'p1' },
      body: {},
    });
    expect(await stored.promise).toBe(true);
    gate.resolve();
    expect((await answer).status).toBe(201);
  });

  it('replays through inject too', async () => {
    const app = Fastify();
    await app.register(bulwark);
    let runs = 0;
    app.post('/o', { config: { bulwark: { idempotency: idempotency() } } }, async () => ({
      n: ++runs,
    }));
    const send = () =>
      app.inject({ method: 'POST', url: '/o', headers: { 'idempotency-key': 'i' }, payload: {} });
    await send();
    const replay = await send();
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual({ n: 1 });
    apps.push(app);
  });

  it("keeps Fastify's own request.signal on routes without a deadline", async () => {
    const app = Fastify();
    await app.register(bulwark);
    let signal: AbortSignal | undefined;
    app.get('/plain', async (request) => {
      signal = request.signal;
      return 'ok';
    });
    const url = await serve(app);
    await call(`${url}/plain`);
    expect(signal).toBeInstanceOf(AbortSignal);
  });

  it('passes errors that are not ResilienceErrors to the error handler set before it', async () => {
    const app = Fastify();
    app.setErrorHandler((_error, _request, reply) => {
      reply.code(418).send('custom');
    });
    await app.register(bulwark);
    app.get('/other', async () => {
      throw new Error('other');
    });
    app.get('/limited', async () => {
      throw new RateLimitedError(undefined, { retryAfterMs: 1000 });
    });
    const url = await serve(app);
    expect((await call(`${url}/other`)).status).toBe(418);
    const limited = await call(`${url}/limited`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  it('answers the ResilienceErrors an error handler set after it throws on', async () => {
    const app = Fastify();
    await app.register(bulwark);
    app.setErrorHandler((error, _request, reply) => {
      if (isResilienceError(error)) throw error;
      reply.code(418).send('custom');
    });
    app.get('/other', async () => {
      throw new Error('other');
    });
    app.get('/timeout', async () => {
      throw new TimeoutError();
    });
    const url = await serve(app);
    expect((await call(`${url}/other`)).status).toBe(418);
    const timedOut = await call(`${url}/timeout`);
    expect(timedOut.status).toBe(504);
    expect(timedOut.json).toMatchObject({ code: 'TIMEOUT' });
  });

  it('leaves errors alone with errorHandler: false', async () => {
    const app = Fastify();
    await app.register(bulwark, { errorHandler: false });
    app.get('/t', async () => {
      throw new TimeoutError();
    });
    const url = await serve(app);
    expect((await call(`${url}/t`)).status).toBe(500);
  });

  it('can be registered in more than one scope', async () => {
    const app = Fastify();
    await app.register(bulwark);
    await app.register(async (child) => {
      await child.register(bulwark, { rateLimit: rateLimit({ limiter: perMinute(1) }) });
      child.get('/scoped', async () => 'scoped');
    });
    app.get('/top', async () => 'top');
    const url = await serve(app);
    expect((await call(`${url}/scoped`)).headers.get('ratelimit')).not.toBeNull();
    expect((await call(`${url}/top`)).headers.get('ratelimit')).toBeNull();
  });

  it('lets the innermost registration decide, never stacking two of a kind', async () => {
    const app = Fastify();
    await app.register(bulwark, {
      rateLimit: rateLimit({ limiter: perMinute(1), policyName: 'outer' }),
    });
    let runs = 0;
    await app.register(async (child) => {
      await child.register(bulwark, {
        rateLimit: rateLimit({ limiter: perMinute(5), policyName: 'inner' }),
      });
      child.post('/inner', { config: { bulwark: { idempotency: idempotency() } } }, async () => ({
        n: ++runs,
      }));
    });
    await app.register(async (child) => {
      await child.register(bulwark, { rateLimit: false });
      child.get('/free', async () => 'free');
    });
    app.get('/outer', async () => 'outer');
    const url = await serve(app);
    const send = () =>
      call(`${url}/inner`, { method: 'POST', headers: { 'idempotency-key': 'n1' }, body: {} });
    const first = await send();
    expect(first.headers.get('ratelimit-policy')).toBe('"inner";q=5;w=60');
    const replay = await send();
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toBe(1);
    expect((await call(`${url}/free`)).headers.get('ratelimit')).toBeNull();
    expect((await call(`${url}/outer`)).headers.get('ratelimit-policy')).toBe('"outer";q=1;w=60');
  });

  it('shows what each protection is built on', () => {
    const limiter = perMinute(2);
    expect(rateLimit({ limiter }).limiter).toBe(limiter);
    expect(idempotency().policy.leaseMs).toBe(60_000);
    expect(loadShedding({ maxConcurrent: 3 }).bulkhead.maxConcurrent).toBe(3);
    expect(deadline({ ms: 100 }).policy.ms).toBe(100);
    expect(() => loadShedding({ maxConcurrent: 1.5 })).toThrow(/loadShedding: maxConcurrent/);
  });
});
