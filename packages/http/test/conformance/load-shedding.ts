import { manualClock } from '@bulwark/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AppSpec,
  call,
  type Deferred,
  deferred,
  type Harness,
  type RouteSpec,
  type RunningApp,
} from './harness.js';

export function describeLoadShedding(harness: Harness): void {
  describe(`loadShedding: ${harness.name}`, () => {
    let app: RunningApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });
    const start = async (spec: AppSpec) => {
      app = await harness.start(spec);
      return app.url;
    };

    /** GET /work?id=x: each request waits for the test to release it. */
    const work = (loadShedding: RouteSpec['loadShedding']) => {
      const gates = new Map<string, Deferred>();
      const started: string[] = [];
      const route: RouteSpec = {
        method: 'GET',
        path: '/work',
        loadShedding,
        handler: async (req) => {
          const id = new URL(req.url, 'http://x').searchParams.get('id')!;
          started.push(id);
          const gate = deferred();
          gates.set(id, gate);
          await gate.promise;
          return { body: { id } };
        },
      };
      const release = (id: string) => gates.get(id)?.resolve();
      return { route, started, release };
    };

    it('answers 503 with Retry-After once maxConcurrent requests run', async () => {
      const { route, started, release } = work({ maxConcurrent: 1 });
      const url = await start({ routes: [route] });
      const a = call(`${url}/work?id=a`);
      await vi.waitFor(() => expect(started).toEqual(['a']), { timeout: 10_000 });
      const b = await call(`${url}/work?id=b`);
      expect(b.status).toBe(503);
      expect(b.headers.get('retry-after')).toBe('1');
      expect(b.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(b.json).toMatchObject({ code: 'BULKHEAD_FULL', status: 503, retryAfterMs: 1000 });
      release('a');
      expect((await a).status).toBe(200);
      // The slot is free again once the response is out.
      await vi.waitFor(() => expect(app!.routes[0]!.bulkhead!.executing).toBe(0), {
        timeout: 10_000,
      });
      const c = call(`${url}/work?id=c`);
      await vi.waitFor(() => expect(started).toEqual(['a', 'c']), { timeout: 10_000 });
      release('c');
      expect((await c).status).toBe(200);
    });

    it('queues up to maxQueue requests and runs them as slots free up', async () => {
      const { route, started, release } = work({ maxConcurrent: 1, maxQueue: 1 });
      const url = await start({ routes: [route] });
      const a = call(`${url}/work?id=a`);
      await vi.waitFor(() => expect(started).toEqual(['a']), { timeout: 10_000 });
      const b = call(`${url}/work?id=b`);
      await vi.waitFor(() => expect(app!.routes[0]!.bulkhead!.queued).toBe(1), { timeout: 10_000 });
      expect((await call(`${url}/work?id=c`)).status).toBe(503);
      expect(started).toEqual(['a']);
      release('a');
      await vi.waitFor(() => expect(started).toEqual(['a', 'b']), { timeout: 10_000 });
      release('b');
      expect([(await a).status, (await b).status]).toEqual([200, 200]);
    });

    it('takes a queued request out of line when its client leaves', async () => {
      const { route, started, release } = work({ maxConcurrent: 1, maxQueue: 1 });
      const url = await start({ routes: [route] });
      const a = call(`${url}/work?id=a`);
      await vi.waitFor(() => expect(started).toEqual(['a']), { timeout: 10_000 });
      const leave = new AbortController();
      const b = call(`${url}/work?id=b`, { signal: leave.signal }).catch((e: unknown) => e);
      const bulkhead = app!.routes[0]!.bulkhead!;
      await vi.waitFor(() => expect(bulkhead.queued).toBe(1), { timeout: 10_000 });
      leave.abort();
      await b;
      await vi.waitFor(() => expect(bulkhead.queued).toBe(0), { timeout: 10_000 });
      release('a');
      await a;
      await vi.waitFor(() => expect(bulkhead.executing).toBe(0), { timeout: 10_000 });
      expect(started).toEqual(['a']);
    });

    it('frees the slot of a request whose client left', async () => {
      const { route, started } = work({ maxConcurrent: 1 });
      const url = await start({ routes: [route] });
      const leave = new AbortController();
      const a = call(`${url}/work?id=a`, { signal: leave.signal }).catch((e: unknown) => e);
      await vi.waitFor(() => expect(started).toEqual(['a']), { timeout: 10_000 });
      leave.abort();
      await a;
      await vi.waitFor(() => expect(app!.routes[0]!.bulkhead!.executing).toBe(0), {
        timeout: 10_000,
      });
    });

    it('answers 503 to a request that waited queueTimeoutMs in line', async () => {
      const clock = manualClock();
      const { route, started, release } = work({
        maxConcurrent: 1,
        maxQueue: 1,
        queueTimeoutMs: 500,
        clock,
      });
      const url = await start({ routes: [route] });
      const a = call(`${url}/work?id=a`);
      await vi.waitFor(() => expect(started).toEqual(['a']), { timeout: 10_000 });
      const b = call(`${url}/work?id=b`);
      await vi.waitFor(() => expect(app!.routes[0]!.bulkhead!.queued).toBe(1), { timeout: 10_000 });
      await clock.advance(500);
      const late = await b;
      expect(late.status).toBe(503);
      expect(late.json).toMatchObject({ code: 'BULKHEAD_FULL' });
      release('a');
      await a;
      expect(started).toEqual(['a']);
    });

    it('says when to come back with retryAfterMs', async () => {
      const { route, started, release } = work({ maxConcurrent: 1, retryAfterMs: 2500 });
      const url = await start({ routes: [route] });
      const a = call(`${url}/work?id=a`);
      await vi.waitFor(() => expect(started).toEqual(['a']), { timeout: 10_000 });
      expect((await call(`${url}/work?id=b`)).headers.get('retry-after')).toBe('3');
      release('a');
      await a;
    });
  });
}
