import { createServer, type ServerResponse } from 'node:http';
import { manualClock } from '@bulwark/core/testing';
import { deadline, errorHandler, idempotency, loadShedding, rateLimit } from '@bulwark/express';
import { type IdempotencyStore, memoryIdempotencyStore } from '@bulwark/idempotency';
import { tokenBucket } from '@bulwark/rate-limit';
import express from 'express';
import express4 from 'express4';
import { afterEach, describe, expect, it } from 'vitest';
import { call, deferred } from '../../http/test/conformance/index.js';
import { close, listen } from './harness.js';

const servers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of servers.splice(0)) await stop();
});

async function serve(app: express.Express): Promise<string> {
  const server = createServer(app);
  const url = await listen(server, '127.0.0.1');
  servers.push(() => close(server));
  return url;
}

for (const [name, createApp] of [
  ['Express 5', express],
  ['Express 4', express4],
] as const) {
  describe(`@bulwark/express on ${name}`, () => {
    it('captures a response written in chunks and replays it whole', async () => {
      const app = createApp();
      let runs = 0;
      app.post('/report', idempotency(), (_req, res) => {
        runs++;
        res.setHeader('content-type', 'text/plain');
        res.write('one,');
        res.write(Buffer.from('two,'));
        setImmediate(() => res.end('three', 'utf8'));
      });
      const url = await serve(app);
      const headers = { 'idempotency-key': 'chunks' };
      const first = await call(`${url}/report`, { method: 'POST', headers });
      const replay = await call(`${url}/report`, { method: 'POST', headers });
      expect(first.text).toBe('one,two,three');
      expect(replay.text).toBe('one,two,three');
      expect(replay.headers.get('content-length')).toBe('13');
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(runs).toBe(1);
    });

    it('captures a status and headers given to writeHead', async () => {
      const app = createApp();
      app.post('/made', idempotency(), (_req, res) => {
        res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-id': '7' });
        res.end('{"id":7}');
      });
      const url = await serve(app);
      const headers = { 'idempotency-key': 'head' };
      await call(`${url}/made`, { method: 'POST', headers });
      const replay = await call(`${url}/made`, { method: 'POST', headers });
      expect(replay.status).toBe(201);
      expect(replay.headers.get('x-id')).toBe('7');
      expect(replay.json).toEqual({ id: 7 });
    });

    it('stores the response before any of it reaches the socket', async () => {
      const gate = deferred();
      const stored = deferred<boolean>();
      let response: ServerResponse | undefined;
      const inner = memoryIdempotencyStore();
      const store: IdempotencyStore = {
        ...inner,
        claim: (...a) => inner.claim(...a),
        renew: (...a) => inner.renew(...a),
        release: (...a) => inner.release(...a),
        get: (...a) => inner.get(...a),
        delete: (...a) => inner.delete(...a),
        complete: async (...a) => {
          stored.resolve(response?.headersSent === false && response.writableFinished === false);
          await gate.promise;
          return inner.complete(...a);
        },
      };
      const app = createApp();
      app.use(express.json());
      app.post(
        '/pay',
        (_req, res, next) => {
          response = res;
          next();
        },
        idempotency({ store }),
        (_req, res) => {
          res.status(201).json({ paid: true });
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

    it('lets a held-back response go out intact when the deadline passes while it is stored', async () => {
      const clock = manualClock();
      const gate = deferred();
      const storing = deferred();
      const inner = memoryIdempotencyStore();
      const store: IdempotencyStore = {
        claim: (...a) => inner.claim(...a),
        renew: (...a) => inner.renew(...a),
        release: (...a) => inner.release(...a),
        get: (...a) => inner.get(...a),
        delete: (...a) => inner.delete(...a),
        complete: async (...a) => {
          storing.resolve();
          await gate.promise;
          return inner.complete(...a);
        },
      };
      const app = createApp();
      app.post('/pay', deadline({ ms: 1000, clock }), idempotency({ store }), (_req, res) => {
        res.status(201).json({ paid: true });
      });
      const url = await serve(app);
      const answer = call(`${url}/pay`, { method: 'POST', headers: { 'idempotency-key': 'late' } });
      await storing.promise;
      await clock.advance(1000);
      gate.resolve();
      const paid = await answer;
      expect(paid.status).toBe(201);
      expect(paid.json).toEqual({ paid: true });
      expect(paid.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('works under a middleware that wraps res.write and res.end itself', async () => {
      const app = createApp();
      let bytes = 0;
      app.use((_req, res, next) => {
        const write = res.write.bind(res) as (...a: unknown[]) => boolean;
        const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
        res.write = ((chunk: Buffer, ...rest: unknown[]) => {
          bytes += chunk.length;
          return write(chunk, ...rest);
        }) as typeof res.write;
        res.end = ((chunk?: Buffer | string, ...rest: unknown[]) => {
          if (chunk !== undefined && typeof chunk !== 'function') bytes += Buffer.byteLength(chunk);
          return end(chunk, ...rest);
        }) as typeof res.end;
        next();
      });
      app.post('/wrapped', idempotency(), (_req, res) => {
        res.send('hello');
      });
      const url = await serve(app);
      const headers = { 'idempotency-key': 'wrapped' };
      expect((await call(`${url}/wrapped`, { method: 'POST', headers })).text).toBe('hello');
      expect((await call(`${url}/wrapped`, { method: 'POST', headers })).text).toBe('hello');
      expect(bytes).toBe(10);
    });

    it('fingerprints the full path of a router mounted under a prefix', async () => {
      const app = createApp();
      app.use(express.json());
      const router = express.Router();
      const keyed = idempotency();
      router.post('/orders', keyed, (_req, res) => {
        res.status(201).json({});
      });
      app.use('/v1', router);
      app.use('/v2', router);
      const url = await serve(app);
      const headers = { 'idempotency-key': 'mounted' };
      await call(`${url}/v1/orders`, { method: 'POST', headers, body: {} });
      expect((await call(`${url}/v2/orders`, { method: 'POST', headers, body: {} })).status).toBe(
        422,
      );
    });

    it('gives req.signal only behind deadline()', async () => {
      const app = createApp();
      const seen: Record<string, boolean> = {};
      app.get('/plain', (req, res) => {
        seen.plain = req.signal !== undefined;
        res.end();
      });
      app.get('/timed', deadline({ ms: 10_000, clock: manualClock() }), (req, res) => {
        seen.timed = req.signal instanceof AbortSignal && !req.signal.aborted;
        res.end();
      });
      const url = await serve(app);
      await call(`${url}/plain`);
      await call(`${url}/timed`);
      expect(seen).toEqual({ plain: false, timed: true });
    });

    it('aborts the signal but lets a response that has started finish past the deadline', async () => {
      const clock = manualClock();
      const app = createApp();
      const reason = deferred<unknown>();
      const started = deferred();
      app.get('/stream', deadline({ ms: 1000, clock }), (req, res) => {
        res.setHeader('content-type', 'text/plain');
        res.write('partial,');
        started.resolve();
        req.signal!.addEventListener('abort', () => {
          reason.resolve(req.signal!.reason);
          res.end('stopped');
        });
      });
      const url = await serve(app);
      const answer = call(`${url}/stream`);
      await started.promise;
      await clock.advance(1000);
      expect((await answer).text).toBe('partial,stopped');
      expect((await answer).status).toBe(200);
      expect(await reason.promise).toMatchObject({ code: 'TIMEOUT' });
    });

    it('hands an error after the response started to the next error handler', async () => {
      const app = createApp();
      let passedOn = false;
      app.get('/late', (_req, res, next) => {
        res.write('partial');
        next(new (class extends Error {})());
      });
      app.use(errorHandler());
      app.use(
        (
          error: unknown,
          _req: express.Request,
          res: express.Response,
          _next: express.NextFunction,
        ) => {
          passedOn = error instanceof Error;
          res.end();
        },
      );
      const url = await serve(app);
      await call(`${url}/late`);
      expect(passedOn).toBe(true);
    });

    it('keys by the address the trust proxy setting gives, however it is set', async () => {
      // Each limiter admits one request per key: a second request from the same key is refused.
      const oneEach = () =>
        rateLimit({ limiter: tokenBucket({ capacity: 1, refillPerSecond: 1e-6 }) });
      const spoofed = (path: string, from: string) =>
        call(path, { headers: { 'x-forwarded-for': from } }).then((r) => r.status);

      const plain = createApp();
      plain.get('/', oneEach(), (_req, res) => res.end());
      const plainUrl = await serve(plain);
      // Not trusted: both requests come from 127.0.0.1, whatever the header says.
      expect(await spoofed(`${plainUrl}/`, '203.0.113.1')).toBe(200);
      expect(await spoofed(`${plainUrl}/`, '203.0.113.2')).toBe(429);

      for (const setting of [true, 'loopback', 1]) {
        const parent = createApp();
        parent.set('trust proxy', setting);
        // Mounted apps inherit the setting: the limiter there must believe the header too.
        const child = createApp();
        child.get('/', oneEach(), (_req, res) => res.end());
        parent.use('/child', child);
        const url = await serve(parent);
        expect(await spoofed(`${url}/child/`, '203.0.113.1')).toBe(200);
        expect(await spoofed(`${url}/child/`, '203.0.113.2')).toBe(200);
        expect(await spoofed(`${url}/child/`, '203.0.113.1')).toBe(429);
      }
    });
  });
}

describe('@bulwark/express middleware', () => {
  it('shows what it is built on', () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1 });
    expect(rateLimit({ limiter }).limiter).toBe(limiter);
    expect(idempotency().policy.ttlMs).toBe(86_400_000);
    expect(loadShedding({ maxConcurrent: 4, maxQueue: 2 }).bulkhead.maxQueue).toBe(2);
    expect(deadline({ ms: 250 }).policy.ms).toBe(250);
  });

  it('checks its options when it is built', () => {
    const limiter = tokenBucket({ capacity: 5, refillPerSecond: 1 });
    expect(() => rateLimit({} as never)).toThrow(
      'rateLimit: limiter must be an object, got undefined',
    );
    expect(() => rateLimit({ limiter, windowMs: 1 } as never)).toThrow(
      /rateLimit: unknown option "windowMs"/,
    );
    expect(() => rateLimit({ limiter, cost: 6 })).toThrow(RangeError);
    expect(() => rateLimit({ limiter, policyName: 'caf\u00e9' })).toThrow(
      /policyName must be printable ASCII/,
    );
    expect(() => rateLimit({ limiter, ipv6Subnet: 129 })).toThrow(
      /ipv6Subnet must be an integer from 1 to 128/,
    );
    expect(() => rateLimit({ limiter, key: 'ip' as never })).toThrow(TypeError);
    expect(() => rateLimit({ limiter, fields: 'none' as never })).toThrow(
      /rateLimit: fields must be one of 'all', 'refused'/,
    );
    expect(() => idempotency({ methods: [] })).toThrow(/methods must be a non-empty array/);
    expect(() => idempotency({ required: 'yes' as never })).toThrow(
      'idempotency: required must be a boolean, got string',
    );
    expect(() => idempotency({ ttlMs: 10, leaseMs: 100 })).toThrow(RangeError);
    expect(() => loadShedding({ maxConcurrent: 0 })).toThrow(
      'loadShedding: maxConcurrent must be an integer >= 1, got 0',
    );
    expect(() => loadShedding({ maxConcurrent: 1, retryAfterMs: -1 })).toThrow(RangeError);
    expect(() => deadline({ ms: 0 })).toThrow('deadline: ms must be a finite number > 0, got 0');
  });
});
