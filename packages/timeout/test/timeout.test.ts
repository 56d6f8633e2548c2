import {
  type Context,
  isResilienceError,
  type PolicyEvent,
  pipeline,
  TimeoutError,
} from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { timeout } from '@bulwark/timeout';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deferred, track } from './helpers.js';

const never = () => new Promise<never>(() => {});

describe('timeout: the deadline', () => {
  it('resolves with the value of a call that finishes in time', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 1000, clock });
    const work = deferred<string>();
    const call = track(policy.execute(() => work.promise));
    await clock.advance(999);
    work.resolve('done');
    await clock.flush();
    expect(call).toEqual({ state: 'fulfilled', value: 'done' });
  });

  it('rejects with TimeoutError exactly when ms have passed, not a moment before', async () => {
    const clock = manualClock();
    const call = track(timeout({ ms: 1000, clock }).execute(never));
    await clock.advance(999);
    expect(call.state).toBe('pending');
    await clock.advance(1);
    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(isResilienceError(call.error, 'TIMEOUT')).toBe(true);
    expect((call.error as Error).message).toBe('timeout: the call did not finish within 1000 ms');
  });

  it('aborts ctx.signal with the same TimeoutError the call rejects with', async () => {
    const clock = manualClock();
    let signal: AbortSignal | undefined;
    const call = track(
      timeout({ ms: 50, clock }).execute((ctx) => {
        signal = ctx.signal;
        return never();
      }),
    );
    expect(signal?.aborted).toBe(false);
    await clock.advance(50);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    expect(call.error).toBe(signal?.reason);
  });

  it('hands fn a signal that reads as aborted when first read after the deadline', async () => {
    const clock = manualClock();
    let ctx: Context | undefined;
    const call = track(
      timeout({ ms: 50, clock }).execute((c) => {
        ctx = c;
        return never();
      }),
    );
    await clock.advance(50);
    expect(ctx?.signal.aborted).toBe(true);
    expect(ctx?.signal.reason).toBe(call.error);
  });

  it('rejects at the deadline a call whose fn ignores the signal and never settles', async () => {
    const clock = manualClock();
    const call = track(timeout({ ms: 10, clock }).execute(never));
    await clock.advance(10);
    expect(call.error).toBeInstanceOf(TimeoutError);
  });
});

describe('timeout: outcomes of fn', () => {
  it('rejects with the error of a call that fails in time', async () => {
    const clock = manualClock();
    const boom = new Error('boom');
    await expect(timeout({ ms: 10, clock }).execute(() => Promise.reject(boom))).rejects.toBe(boom);
  });

  it('returns the value of a synchronous fn', async () => {
    const clock = manualClock();
    await expect(timeout({ ms: 10, clock }).execute(() => 42)).resolves.toBe(42);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with the error a synchronous fn throws', async () => {
    const clock = manualClock();
    const boom = new Error('sync boom');
    await expect(
      timeout({ ms: 10, clock }).execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(clock.pendingTimers).toBe(0);
  });

  it('accepts a thenable that is not a native promise', async () => {
    const clock = manualClock();
    const thenable: PromiseLike<string> = {
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is what this test is about
      then: (onValue, onError) => Promise.resolve('via then').then(onValue, onError),
    };
    await expect(timeout({ ms: 10, clock }).execute(() => thenable)).resolves.toBe('via then');
  });
});

describe('timeout: late outcomes', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('ignores a value that arrives after the deadline', async () => {
    const clock = manualClock();
    const work = deferred<string>();
    const call = track(timeout({ ms: 10, clock }).execute(() => work.promise));
    await clock.advance(10);
    work.resolve('too late');
    await clock.flush();
    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(TimeoutError);
  });

  it('keeps timing the calls still pending when a late outcome arrives', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 100, clock });
    const late = deferred<string>();
    const a = track(policy.execute(() => late.promise));
    await clock.advance(50);
    const b = track(policy.execute(never));
    const c = track(policy.execute(never));
    await clock.advance(50); // a times out
    late.resolve('too late');
    await clock.flush();
    expect([a.state, b.state, c.state]).toEqual(['rejected', 'pending', 'pending']);
    await clock.advance(50);
    expect(b.error).toBeInstanceOf(TimeoutError);
    expect(c.error).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('swallows an error that arrives after the deadline: no unhandled rejection', async () => {
    const clock = manualClock();
    const work = deferred<string>();
    const call = track(timeout({ ms: 10, clock }).execute(() => work.promise));
    await clock.advance(10);
    work.reject(new Error('late failure'));
    await clock.flush();
    await new Promise((r) => setTimeout(r, 5)); // unhandledRejection is reported after a macrotask
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(unhandled).toEqual([]);
  });

  it('raises no unhandled rejection when the caller awaits a call that timed out', async () => {
    const clock = manualClock();
    const call = timeout({ ms: 10, clock })
      .execute(never)
      .catch((error: unknown) => error);
    await clock.advance(10);
    expect(await call).toBeInstanceOf(TimeoutError);
    await new Promise((r) => setTimeout(r, 5));
    expect(unhandled).toEqual([]);
  });
});

describe("timeout: the caller's abort", () => {
  it("rejects with the caller's reason, untouched, not with TimeoutError", async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const reason = new Error('user left');
    const call = track(timeout({ ms: 1000, clock }).execute(never, { signal: controller.signal }));
    await clock.advance(10);
    controller.abort(reason);
    await clock.flush();
    expect(call.error).toBe(reason);
  });

  it("aborts fn's signal with the caller's reason", async () => {
    const clock = manualClock();
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const reason = new Error('user left');
    const call = track(
      timeout({ ms: 1000, clock }).execute(
        (ctx) => {
          signal = ctx.signal;
          return never();
        },
        { signal: controller.signal },
      ),
    );
    controller.abort(reason);
    await clock.flush();
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(reason);
    expect(call.error).toBe(reason);
  });

  it('emits no timeout event for a call the caller already cancelled', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const policy = timeout({ ms: 100, clock });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    const call = track(policy.execute(never, { signal: controller.signal }));
    controller.abort(new Error('user left'));
    await clock.advance(100);
    expect(call.state).toBe('rejected');
    expect(events).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("keeps an outer timeout's error when an inner timeout's deadline comes later", async () => {
    const clock = manualClock();
    const outer = timeout({ ms: 100, clock });
    const inner = timeout({ ms: 500, clock });
    const events: PolicyEvent[] = [];
    const policy = pipeline(outer, inner);
    policy.on((e) => events.push(e));
    let signal: AbortSignal | undefined;
    const call = track(
      policy.execute((ctx) => {
        signal = ctx.signal;
        return never();
      }),
    );
    await clock.advance(100);
    expect(call.error).toBeInstanceOf(TimeoutError);
    expect(signal?.reason).toBe(call.error);
    await clock.advance(400);
    expect(events).toEqual([{ policy: 'timeout', type: 'timeout', ms: 100 }]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('lets an inner timeout with the earlier deadline fire first', async () => {
    const clock = manualClock();
    const events: PolicyEvent[] = [];
    const policy = pipeline(timeout({ ms: 500, clock }), timeout({ ms: 100, clock }));
    policy.on((e) => events.push(e));
    const call = track(policy.execute(never));
    await clock.advance(100);
    expect((call.error as Error).message).toContain('100 ms');
    expect(events).toEqual([{ policy: 'timeout', type: 'timeout', ms: 100 }]);
  });
});

describe('timeout: events and extras', () => {
  it('emits timeout with ms when a deadline passes', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 25, clock });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    void policy.execute(never).catch(() => {});
    await clock.advance(25);
    expect(events).toEqual([{ policy: 'timeout', type: 'timeout', ms: 25 }]);
  });

  it('emits nothing for calls that finish in time', async () => {
    const clock = manualClock();
    const policy = timeout({ ms: 25, clock });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    await policy.execute(async () => 1);
    await expect(policy.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await clock.advance(100);
    expect(events).toEqual([]);
  });

  it('exposes ms', () => {
    expect(timeout({ ms: 750 }).ms).toBe(750);
  });

  it('takes a bare number as ms', async () => {
    expect(timeout(250).ms).toBe(250);
  });

  it('builds no AbortController for calls that never read the signal, even when they time out', async () => {
    const clock = manualClock();
    const Original = globalThis.AbortController;
    let built = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        built++;
      }
    };
    try {
      const policy = timeout({ ms: 10, clock });
      await policy.execute(async () => 1);
      const call = track(policy.execute(never));
      await clock.advance(10);
      expect(call.error).toBeInstanceOf(TimeoutError);
      expect(built).toBe(0);
    } finally {
      globalThis.AbortController = Original;
    }
  });

  it('passes attempt and key through to fn', async () => {
    const seen = await timeout({ ms: 10, clock: manualClock() }).execute(
      (ctx) => [ctx.attempt, ctx.key],
      { key: 'tenant-1' },
    );
    expect(seen).toEqual([1, 'tenant-1']);
  });
});
