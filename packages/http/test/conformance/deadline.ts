import { manualClock } from '@bulwark/core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AppSpec, call, deferred, type Harness, type RunningApp } from './harness.js';

export function describeDeadline(harness: Harness): void {
  describe(`deadline: ${harness.name}`, () => {
    let app: RunningApp | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });
    const start = async (spec: AppSpec) => {
      app = await harness.start(spec);
      return app.url;
    };

    /** GET /slow: waits until its signal aborts, and reports why. */
    const slow = () => {
      const clock = manualClock();
      const entered = deferred();
      const reason = deferred<unknown>();
      const spec: AppSpec = {
        routes: [
          {
            method: 'GET',
            path: '/slow',
            deadline: { ms: 1000, clock },
            handler: async (req) => {
              const signal = req.signal!;
              entered.resolve();
              await new Promise((resolve) =>
                signal.addEventListener('abort', resolve, { once: true }),
              );
              reason.resolve(signal.reason);
              return {};
            },
          },
        ],
      };
      return { clock, entered, reason, spec };
    };

    it("answers 504 past the deadline and aborts the handler's signal with a TimeoutError", async () => {
      const { clock, entered, reason, spec } = slow();
      const url = await start(spec);
      const answer = call(`${url}/slow`);
      await entered.promise;
      await clock.advance(1000);
      const timedOut = await answer;
      expect(timedOut.status).toBe(504);
      expect(timedOut.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(timedOut.json).toMatchObject({
        code: 'TIMEOUT',
        status: 504,
        type: 'urn:bulwark:problem:timeout',
      });
      expect(await reason.promise).toMatchObject({ name: 'TimeoutError', code: 'TIMEOUT' });
    });

    it('clears the deadline when the response is sent in time', async () => {
      const clock = manualClock();
      let signal: AbortSignal | undefined;
      const url = await start({
        routes: [
          {
            method: 'GET',
            path: '/fast',
            deadline: { ms: 1000, clock },
            handler: (req) => {
              signal = req.signal;
              return { body: { ok: true } };
            },
          },
        ],
      });
      expect((await call(`${url}/fast`)).status).toBe(200);
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(0), { timeout: 10_000 });
      await clock.advance(5000);
      expect(signal?.aborted).toBe(false);
    });

    it('releases the idempotency key when the deadline answers 504', async () => {
      const clock = manualClock();
      let runs = 0;
      let slow = true;
      const url = await start({
        routes: [
          {
            method: 'POST',
            path: '/pay',
            deadline: { ms: 1000, clock },
            idempotency: {},
            handler: async (req) => {
              runs++;
              if (!slow) return { status: 201, body: { paid: true } };
              const signal = req.signal!;
              await new Promise((resolve) =>
                signal.addEventListener('abort', resolve, { once: true }),
              );
              return {};
            },
          },
        ],
      });
      const pay = () =>
        call(`${url}/pay`, { method: 'POST', headers: { 'idempotency-key': 'pay-1' }, body: {} });
      const first = pay();
      await vi.waitFor(() => expect(runs).toBe(1), { timeout: 10_000 });
      await clock.advance(1000);
      expect((await first).status).toBe(504);
      slow = false;
      const retry = await pay();
      expect(retry.status).toBe(201);
      expect(runs).toBe(2);
    });

    it('aborts the signal when the client goes away', async () => {
      const { clock, entered, reason, spec } = slow();
      const url = await start(spec);
      const leave = new AbortController();
      const answer = call(`${url}/slow`, { signal: leave.signal }).catch((e: unknown) => e);
      await entered.promise;
      leave.abort();
      await answer;
      expect(await reason.promise).toMatchObject({ name: 'AbortError' });
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(0), { timeout: 10_000 });
    });
  });
}
