import { manualClock } from '@bulwark/core/testing';
import { type IdempotencyStore, memoryIdempotencyStore } from '@bulwark/idempotency';
import { tokenBucket } from '@bulwark/rate-limit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AppSpec,
  call,
  deferred,
  type Harness,
  type NeutralHandler,
  type RouteSpec,
  type RunningApp,
  type SuiteStores,
} from './harness.js';

export function describeIdempotency(harness: Harness, stores: SuiteStores): void {
  describe(`idempotency: ${harness.name}, ${stores.name}`, () => {
    let app: RunningApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });
    const start = async (spec: AppSpec) => {
      app = await harness.start(spec);
      return app.url;
    };
    const newStore = (): IdempotencyStore => stores.idempotency?.() ?? memoryIdempotencyStore();

    /** POST /orders: 201 with a new order id each time it runs. */
    const orders = (
      options: RouteSpec['idempotency'] = {},
      respond?: NeutralHandler,
    ): { route: RouteSpec; runs: () => number } => {
      let runs = 0;
      const route: RouteSpec = {
        method: 'POST',
        path: '/orders',
        idempotency: { store: newStore(), ...options },
        handler: async (req) => {
          runs++;
          if (respond) return respond(req);
          return {
            status: 201,
            headers: { 'x-order': `o-${runs}`, 'set-cookie': `session=s${runs}; HttpOnly` },
            body: { id: runs, echo: req.body },
          };
        },
      };
      return { route, runs: () => runs };
    };
    const post = (
      url: string,
      key: string | undefined,
      body: unknown = { amount: 10 },
      headers: Record<string, string> = {},
    ) =>
      call(`${url}/orders`, {
        method: 'POST',
        headers: key === undefined ? headers : { 'idempotency-key': key, ...headers },
        body,
      });

    it('runs the first request and replays its status, headers and body to a repeat', async () => {
      const { route, runs } = orders();
      const url = await start({ routes: [route] });
      const first = await post(url, 'key-1');
      const again = await post(url, 'key-1');
      expect(first.status).toBe(201);
      expect(first.json).toEqual({ id: 1, echo: { amount: 10 } });
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect(again.status).toBe(201);
      expect(again.text).toBe(first.text);
      expect(again.headers.get('x-order')).toBe('o-1');
      expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(runs()).toBe(1);
    });

    it('has the response stored by the time the client receives it', async () => {
      const { route } = orders();
      const url = await start({ routes: [route] });
      await post(url, 'key-stored');
      const record = await app!.routes[0]!.idempotency!.store.get('key-stored');
      expect(record?.state).toBe('completed');
      // So a repeat sent the moment the answer came is a replay, never a 409.
      expect((await post(url, 'key-stored')).headers.get('idempotent-replayed')).toBe('true');
    });

    it('leaves Set-Cookie and hop-by-hop fields out of a replay and recomputes Content-Length', async () => {
      const { route } = orders({}, () => ({
        status: 200,
        headers: {
          'set-cookie': ['a=1', 'b=2'],
          'keep-alive': 'timeout=42',
          'proxy-authenticate': 'Basic realm="x"',
          'x-kept': 'yes',
        },
        body: 'caf\u00e9 au lait',
      }));
      const url = await start({ routes: [route] });
      const first = await post(url, 'key-hop');
      expect(first.headers.get('set-cookie')).toBe('a=1, b=2');
      const replay = await post(url, 'key-hop');
      expect(replay.text).toBe('caf\u00e9 au lait');
      expect(replay.headers.get('x-kept')).toBe('yes');
      expect(replay.headers.get('set-cookie')).toBeNull();
      expect(replay.headers.get('keep-alive')).not.toBe('timeout=42');
      expect(replay.headers.get('proxy-authenticate')).toBeNull();
      expect(replay.headers.get('content-length')).toBe(
        String(Buffer.byteLength('caf\u00e9 au lait')),
      );
    });

    it("gives a replay this request's own RateLimit fields, not the stored ones", async () => {
      const { route } = orders();
      route.rateLimit = {
        limiter: tokenBucket({ capacity: 5, refillPerSecond: 5 / 60, clock: manualClock() }),
      };
      const url = await start({ routes: [route] });
      const first = await post(url, 'key-fields');
      const replay = await post(url, 'key-fields');
      expect(first.headers.get('ratelimit')).toMatch(/;r=4;/);
      expect(replay.headers.get('ratelimit')).toMatch(/;r=3;/);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('replays a binary body byte for byte', async () => {
      const bytes = Buffer.from([0, 255, 1, 254, 0x80]);
      const { route } = orders({}, () => ({ status: 200, body: bytes }));
      const url = await start({ routes: [route] });
      await post(url, 'key-bin');
      const replay = await fetch(`${url}/orders`, {
        method: 'POST',
        headers: { 'idempotency-key': 'key-bin', 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 10 }),
      });
      expect(Buffer.from(await replay.arrayBuffer()).equals(bytes)).toBe(true);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
    });

    it('answers 400 when a required key is missing', async () => {
      const { route, runs } = orders({ required: true });
      const url = await start({ routes: [route] });
      const answer = await post(url, undefined);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(answer.json).toMatchObject({ code: 'IDEMPOTENCY_KEY_MISSING', status: 400 });
      expect(runs()).toBe(0);
    });

    it('answers 400 for an empty key or one of more than 255 characters', async () => {
      const { route, runs } = orders();
      const url = await start({ routes: [route] });
      const empty = await post(url, '');
      const long = await post(url, 'k'.repeat(256));
      expect([empty.status, long.status]).toEqual([400, 400]);
      expect(long.json).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID' });
      expect(runs()).toBe(0);
      expect((await post(url, 'k'.repeat(255))).status).toBe(201);
    });

    it('lets a request without a key run as usual when none is required', async () => {
      const { route, runs } = orders();
      const url = await start({ routes: [route] });
      await post(url, undefined);
      const second = await post(url, undefined);
      expect(second.headers.get('idempotent-replayed')).toBeNull();
      expect(runs()).toBe(2);
    });

    it('answers 409 with Retry-After while the first request runs', async () => {
      const entered = deferred();
      const gate = deferred();
      const { route, runs } = orders({}, async () => {
        entered.resolve();
        await gate.promise;
        return { status: 201, body: { done: true } };
      });
      const url = await start({ routes: [route] });
      const first = post(url, 'key-busy');
      await entered.promise;
      const busy = await post(url, 'key-busy');
      expect(busy.status).toBe(409);
      expect(busy.headers.get('retry-after')).toBe('1');
      expect(busy.json).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS', status: 409 });
      gate.resolve();
      expect((await first).status).toBe(201);
      expect((await post(url, 'key-busy')).headers.get('idempotent-replayed')).toBe('true');
      expect(runs()).toBe(1);
    });

    it('answers 422 when the key comes back with another body', async () => {
      const { route, runs } = orders();
      const url = await start({ routes: [route] });
      await post(url, 'key-reused', { amount: 10 });
      const other = await post(url, 'key-reused', { amount: 11 });
      expect(other.status).toBe(422);
      expect(other.json).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
      // Key order is not a different payload.
      const same = await post(url, 'key-reused', { amount: 10 });
      expect(same.headers.get('idempotent-replayed')).toBe('true');
      expect(runs()).toBe(1);
    });

    it('answers 422 when the key comes back on another path or method', async () => {
      const store = newStore();
      const handler: NeutralHandler = () => ({ status: 201, body: {} });
      const url = await start({
        routes: [
          { method: 'POST', path: '/orders', idempotency: { store }, handler },
          { method: 'POST', path: '/refunds', idempotency: { store }, handler },
          { method: 'PATCH', path: '/orders', idempotency: { store }, handler },
        ],
      });
      await post(url, 'key-path');
      const refund = await call(`${url}/refunds`, {
        method: 'POST',
        headers: { 'idempotency-key': 'key-path' },
        body: { amount: 10 },
      });
      const patch = await call(`${url}/orders`, {
        method: 'PATCH',
        headers: { 'idempotency-key': 'key-path' },
        body: { amount: 10 },
      });
      expect([refund.status, patch.status]).toEqual([422, 422]);
    });

    it("never replays one user's key to another user", async () => {
      const { route, runs } = orders({ scope: (req) => String(req.headers['x-user']) });
      const url = await start({ routes: [route] });
      const alice = await post(url, 'shared-key', { amount: 10 }, { 'x-user': 'alice' });
      const bob = await post(url, 'shared-key', { amount: 10 }, { 'x-user': 'bob' });
      expect(bob.headers.get('idempotent-replayed')).toBeNull();
      expect(bob.json).toMatchObject({ id: 2 });
      const aliceAgain = await post(url, 'shared-key', { amount: 10 }, { 'x-user': 'alice' });
      expect(aliceAgain.text).toBe(alice.text);
      expect(aliceAgain.headers.get('idempotent-replayed')).toBe('true');
      expect(runs()).toBe(2);
    });

    it('releases the key after a 5xx, so a retry runs again', async () => {
      let failing = true;
      const { route, runs } = orders({}, () =>
        failing
          ? { status: 503, body: { error: 'upstream down' } }
          : { status: 201, body: { ok: true } },
      );
      const url = await start({ routes: [route] });
      expect((await post(url, 'key-5xx')).status).toBe(503);
      failing = false;
      const retry = await post(url, 'key-5xx');
      expect(retry.status).toBe(201);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      expect(runs()).toBe(2);
    });

    it('releases the key after a 429 from inside the handler, even with storeServerErrors', async () => {
      let throttled = true;
      const { route, runs } = orders({ storeServerErrors: true }, () =>
        throttled ? { status: 429, body: { error: 'slow down' } } : { status: 201, body: {} },
      );
      const url = await start({ routes: [route] });
      expect((await post(url, 'key-429')).status).toBe(429);
      throttled = false;
      expect((await post(url, 'key-429')).status).toBe(201);
      expect(runs()).toBe(2);
    });

    it('stores and replays a 5xx when storeServerErrors is set', async () => {
      const { route, runs } = orders({ storeServerErrors: true }, () => ({
        status: 500,
        body: { error: 'no' },
      }));
      const url = await start({ routes: [route] });
      await post(url, 'key-keep-5xx');
      const replay = await post(url, 'key-keep-5xx');
      expect(replay.status).toBe(500);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(runs()).toBe(1);
    });

    it('stores and replays a 4xx', async () => {
      const { route, runs } = orders({}, () => ({ status: 402, body: { error: 'card declined' } }));
      const url = await start({ routes: [route] });
      await post(url, 'key-4xx');
      const replay = await post(url, 'key-4xx');
      expect(replay.status).toBe(402);
      expect(replay.json).toEqual({ error: 'card declined' });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(runs()).toBe(1);
    });

    it('releases the key when the handler throws', async () => {
      let throwing = true;
      const { route, runs } = orders({}, () => {
        if (throwing) throw new Error('boom');
        return { status: 201, body: {} };
      });
      const url = await start({ routes: [route] });
      expect((await post(url, 'key-throw')).status).toBe(500);
      throwing = false;
      expect((await post(url, 'key-throw')).status).toBe(201);
      expect(runs()).toBe(2);
    });

    it("still sends the handler's response when the store cannot take the record", async () => {
      const inner = newStore();
      const store: IdempotencyStore = {
        claim: (...a) => inner.claim(...a),
        renew: (...a) => inner.renew(...a),
        release: (...a) => inner.release(...a),
        get: (...a) => inner.get(...a),
        delete: (...a) => inner.delete(...a),
        complete: () => Promise.reject(new Error('store went away')),
      };
      const { route, runs } = orders({ store });
      const url = await start({ routes: [route] });
      const answer = await post(url, 'key-lost');
      expect(answer.status).toBe(201);
      expect(answer.json).toMatchObject({ id: 1 });
      // The record was never completed: the key stays claimed until its lease runs out.
      expect((await post(url, 'key-lost')).status).toBe(409);
      expect(runs()).toBe(1);
    });

    it('hands a store that cannot claim to the error handler, without running the handler', async () => {
      const inner = newStore();
      const store: IdempotencyStore = {
        claim: () => Promise.reject(new Error('store went away')),
        renew: (...a) => inner.renew(...a),
        release: (...a) => inner.release(...a),
        complete: (...a) => inner.complete(...a),
        get: (...a) => inner.get(...a),
        delete: (...a) => inner.delete(...a),
      };
      const { route, runs } = orders({ store });
      const url = await start({ routes: [route] });
      const answer = await post(url, 'key-down');
      expect(answer.status).toBe(503);
      expect(answer.json).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(runs()).toBe(0);
    });

    it('leaves GET alone by default', async () => {
      let runs = 0;
      const url = await start({
        routes: [
          {
            method: 'GET',
            path: '/orders',
            idempotency: { store: newStore() },
            handler: () => ({ body: { n: ++runs } }),
          },
        ],
      });
      await call(`${url}/orders`, { headers: { 'idempotency-key': 'key-get' } });
      await call(`${url}/orders`, { headers: { 'idempotency-key': 'key-get' } });
      expect(runs).toBe(2);
    });

    it('covers exactly the methods it is given', async () => {
      let runs = 0;
      const idempotency = { store: newStore(), methods: ['PUT'] };
      const handler: NeutralHandler = () => ({ body: { n: ++runs } });
      const url = await start({
        routes: [
          { method: 'PUT', path: '/orders', idempotency, handler },
          { method: 'POST', path: '/orders', idempotency, handler },
        ],
      });
      const put = () =>
        call(`${url}/orders`, {
          method: 'PUT',
          headers: { 'idempotency-key': 'key-put' },
          body: {},
        });
      await put();
      expect((await put()).headers.get('idempotent-replayed')).toBe('true');
      await post(url, 'key-put-2');
      await post(url, 'key-put-2');
      expect(runs).toBe(3);
    });

    it('reads a quoted key (the IETF sf-string) as the bare key', async () => {
      const { route, runs } = orders();
      const url = await start({ routes: [route] });
      await post(url, '"key-quoted"');
      expect((await post(url, 'key-quoted')).headers.get('idempotent-replayed')).toBe('true');
      expect(runs()).toBe(1);
    });

    it('hands a failing scope to the error path without running the handler', async () => {
      const { route, runs } = orders({
        scope: () => {
          throw new Error('no user');
        },
      });
      const url = await start({ routes: [route] });
      expect((await post(url, 'key-scope')).status).toBe(500);
      expect(runs()).toBe(0);
    });

    it('stores the response of a handler whose client left, for the retry', async () => {
      const entered = deferred();
      const gate = deferred();
      const { route, runs } = orders({}, async () => {
        entered.resolve();
        await gate.promise;
        return { status: 201, body: { late: true } };
      });
      const url = await start({ routes: [route] });
      const leave = new AbortController();
      const gone = call(`${url}/orders`, {
        method: 'POST',
        headers: { 'idempotency-key': 'key-gone' },
        body: { amount: 10 },
        signal: leave.signal,
      }).catch((e: unknown) => e);
      await entered.promise;
      leave.abort();
      await gone;
      expect((await post(url, 'key-gone')).status).toBe(409);
      gate.resolve();
      await vi.waitFor(
        async () => {
          const replay = await post(url, 'key-gone');
          expect(replay.headers.get('idempotent-replayed')).toBe('true');
          expect(replay.json).toEqual({ late: true });
        },
        { timeout: 10_000 },
      );
      expect(runs()).toBe(1);
    });
  });
}
