import { StoreUnavailableError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { leakyBucket, type RateLimiter, tokenBucket } from '@bulwark/rate-limit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AppSpec,
  call,
  type Harness,
  type NeutralHandler,
  type RunningApp,
  type SuiteStores,
} from './harness.js';

const ok: NeutralHandler = () => ({ body: { ok: true } });

/** True when this machine can listen on the IPv6 loopback. */
export async function hasIPv6Loopback(): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

export function describeRateLimit(harness: Harness, stores: SuiteStores): void {
  describe(`rateLimit: ${harness.name}, ${stores.name}`, () => {
    let app: RunningApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });
    const start = async (spec: AppSpec) => {
      app = await harness.start(spec);
      return app.url;
    };
    const store = () => stores.rateLimit?.();
    /** 3 requests a minute per client, on a clock of the test's. */
    const perMinute = (capacity = 3) => {
      const clock = manualClock();
      return tokenBucket({ capacity, refillPerSecond: capacity / 60, clock, store: store() });
    };
    const route = (limiter: RateLimiter, extra: object = {}): AppSpec['routes'][number] => ({
      method: 'GET',
      path: '/limited',
      rateLimit: { limiter, ...extra },
      handler: ok,
    });

    it('sets RateLimit-Policy and RateLimit on a response it lets through', async () => {
      const url = await start({ routes: [route(perMinute())] });
      const answer = await call(`${url}/limited`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('ratelimit-policy')).toBe('"default";q=3;w=60');
      if (stores.exactTime) expect(answer.headers.get('ratelimit')).toBe('"default";r=2;t=20');
      else expect(answer.headers.get('ratelimit')).toMatch(/^"default";r=2;t=(1\d|20)$/);
    });

    it('answers 429 with Retry-After, the RateLimit fields and a problem once the bucket is empty', async () => {
      const url = await start({ routes: [route(perMinute())] });
      for (let i = 0; i < 3; i++) expect((await call(`${url}/limited`)).status).toBe(200);
      const refused = await call(`${url}/limited`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get('ratelimit-policy')).toBe('"default";q=3;w=60');
      expect(refused.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
      const retryAfter = Number(refused.headers.get('retry-after'));
      if (stores.exactTime) expect(retryAfter).toBe(20);
      else expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(20);
      expect(refused.json).toMatchObject({
        type: 'urn:bulwark:problem:rate-limited',
        status: 429,
        code: 'RATE_LIMITED',
      });
      expect(Math.ceil((refused.json.retryAfterMs as number) / 1000)).toBe(retryAfter);
    });

    it("sends the RateLimit fields with a 429 only, when fields is 'refused'", async () => {
      const url = await start({ routes: [route(perMinute(1), { fields: 'refused' })] });
      const allowed = await call(`${url}/limited`);
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('ratelimit-policy')).toBeNull();
      expect(allowed.headers.get('ratelimit')).toBeNull();
      const refused = await call(`${url}/limited`);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-policy')).toBe('"default";q=1;w=60');
      expect(refused.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
    });

    it('ignores a spoofed X-Forwarded-For when the framework does not trust proxies', async () => {
      const url = await start({ routes: [route(perMinute(1))] });
      const first = await call(`${url}/limited`, {
        headers: { 'x-forwarded-for': '198.51.100.1' },
      });
      const second = await call(`${url}/limited`, {
        headers: { 'x-forwarded-for': '198.51.100.2' },
      });
      expect([first.status, second.status]).toEqual([200, 429]);
    });

    it('keys by X-Forwarded-For where the trust proxy setting says so', async () => {
      const url = await start({ trustProxy: true, routes: [route(perMinute(1))] });
      const as = (ip: string) => call(`${url}/limited`, { headers: { 'x-forwarded-for': ip } });
      expect((await as('198.51.100.1')).status).toBe(200);
      expect((await as('198.51.100.1')).status).toBe(429);
      expect((await as('198.51.100.2')).status).toBe(200);
    });

    it('puts an IPv6 client rotating addresses inside its /56 in one bucket', async () => {
      const url = await start({ trustProxy: true, routes: [route(perMinute(2))] });
      const as = (ip: string) => call(`${url}/limited`, { headers: { 'x-forwarded-for': ip } });
      expect((await as('2001:db8:aa:bb01::1')).status).toBe(200);
      expect((await as('2001:db8:aa:bbff:1:2:3:4')).status).toBe(200);
      expect((await as('2001:db8:aa:bb42::9')).status).toBe(429);
      // The next /56 is another client.
      expect((await as('2001:db8:aa:bc00::1')).status).toBe(200);
    });

    it('counts an IPv4-mapped IPv6 address as the IPv4 address it maps', async () => {
      const url = await start({ trustProxy: true, routes: [route(perMinute(1))] });
      const as = (ip: string) => call(`${url}/limited`, { headers: { 'x-forwarded-for': ip } });
      expect((await as('::ffff:198.51.100.7')).status).toBe(200);
      expect((await as('198.51.100.7')).status).toBe(429);
    });

    it('keys a client that connects over IPv6', async (context) => {
      if (!(await hasIPv6Loopback())) context.skip();
      const url = await start({ host: '::1', routes: [route(perMinute(2))] });
      expect(url).toContain('[::1]');
      const first = await call(`${url}/limited`);
      expect(first.headers.get('ratelimit')).toMatch(/;r=1;/);
      expect((await call(`${url}/limited`)).status).toBe(200);
      expect((await call(`${url}/limited`)).status).toBe(429);
    });

    it('takes the key, cost and skip options', async () => {
      const url = await start({
        routes: [
          {
            method: 'POST',
            path: '/limited',
            rateLimit: {
              limiter: perMinute(3),
              key: (req) => String(req.headers['x-api-key']),
              cost: (req) => (req.method === 'POST' ? 2 : 1),
              skip: (req) => req.headers['x-internal'] === 'yes',
            },
            handler: ok,
          },
        ],
      });
      const post = (headers: Record<string, string>) =>
        call(`${url}/limited`, { method: 'POST', headers, body: {} });
      expect((await post({ 'x-api-key': 'a' })).headers.get('ratelimit')).toMatch(/;r=1;/);
      expect((await post({ 'x-api-key': 'a' })).status).toBe(429);
      expect((await post({ 'x-api-key': 'b' })).headers.get('ratelimit')).toMatch(/;r=1;/);
      const skipped = await post({ 'x-api-key': 'a', 'x-internal': 'yes' });
      expect(skipped.status).toBe(200);
      expect(skipped.headers.get('ratelimit')).toBeNull();
      expect(skipped.headers.get('ratelimit-policy')).toBeNull();
    });

    it('names the policy and its window as configured', async () => {
      const url = await start({
        routes: [route(perMinute(), { policyName: 'per-user', windowSeconds: 30 })],
      });
      const answer = await call(`${url}/limited`);
      expect(answer.headers.get('ratelimit-policy')).toBe('"per-user";q=3;w=30');
      expect(answer.headers.get('ratelimit')).toMatch(/^"per-user";r=2;/);
    });

    it("holds a leaky bucket's request until its slot comes", async () => {
      const clock = manualClock();
      const limiter = leakyBucket({ ratePerSecond: 0.1, maxQueue: 1, clock, store: store() });
      let calls = 0;
      const url = await start({
        routes: [
          {
            method: 'GET',
            path: '/spaced',
            rateLimit: { limiter },
            handler: () => ({ body: { n: ++calls } }),
          },
        ],
      });
      expect((await call(`${url}/spaced`)).status).toBe(200);
      const second = call(`${url}/spaced`);
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), { timeout: 10_000 });
      expect(calls).toBe(1);
      // The queue (one place) is taken: the next one is refused.
      expect((await call(`${url}/spaced`)).status).toBe(429);
      await clock.advance(10_000);
      const answer = await second;
      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ n: 2 });
      expect(answer.headers.get('ratelimit-policy')).toBe('"default";q=2;w=20');
    });

    it('never runs a delayed request whose client went away', async () => {
      const clock = manualClock();
      const limiter = leakyBucket({ ratePerSecond: 0.1, maxQueue: 1, clock, store: store() });
      let calls = 0;
      const url = await start({
        routes: [
          {
            method: 'GET',
            path: '/spaced',
            rateLimit: { limiter },
            handler: () => ({ body: { n: ++calls } }),
          },
        ],
      });
      await call(`${url}/spaced`);
      const leave = new AbortController();
      const second = call(`${url}/spaced`, { signal: leave.signal }).catch((e: unknown) => e);
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), { timeout: 10_000 });
      leave.abort();
      await second;
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(0), { timeout: 10_000 });
      await clock.advance(20_000);
      expect(calls).toBe(1);
    });

    it("hands a limiter's failure to the error handler", async () => {
      const failing: RateLimiter = { take: () => Promise.reject(new StoreUnavailableError()) };
      const url = await start({ routes: [route(failing)] });
      const answer = await call(`${url}/limited`);
      expect(answer.status).toBe(503);
      expect(answer.json).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
    });
  });
}
