import {
  BrokenCircuitError,
  type Context,
  type PolicyEvent,
  pipeline,
  RateLimitedError,
} from '@bulwark/core';
import { manualClock, track } from '@bulwark/core/testing';
import { constant, exponential, retry } from '@bulwark/retry';
import { describe, expect, it } from 'vitest';
import { Abortable, flaky, recordingClock } from './helpers.js';

describe('retry: attempts', () => {
  it('returns the first attempt’s value without retrying', async () => {
    const { fn, attempts } = flaky(0);
    expect(await retry({ clock: manualClock() }).execute(fn)).toBe('ok');
    expect(attempts).toEqual([1]);
  });

  it('returns a synchronous value as it is', async () => {
    expect(await retry().execute(() => 42)).toBe(42);
  });

  it('counts every call in maxAttempts: 3 means one call and two retries', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(Number.POSITIVE_INFINITY);
    const call = track(retry({ maxAttempts: 3, backoff: constant(10), clock }).execute(fn));
    await clock.advance(1_000);
    expect(attempts).toEqual([1, 2, 3]);
    expect(call.settled).toBe(true);
  });

  it('gives up by rethrowing the last error, untouched', async () => {
    const clock = manualClock();
    const { fn, errors } = flaky(Number.POSITIVE_INFINITY);
    const call = track(retry({ maxAttempts: 3, backoff: constant(10), clock }).execute(fn));
    await clock.advance(100);
    expect(call.error).toBe(errors[2]);
    expect(errors).toHaveLength(3);
  });

  it('never retries with maxAttempts 1', async () => {
    const { fn, attempts, errors } = flaky(1);
    await expect(retry({ maxAttempts: 1, clock: manualClock() }).execute(fn)).rejects.toBe(
      errors[0],
    );
    expect(attempts).toEqual([1]);
  });

  it('returns the value of the attempt that succeeds', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(2);
    const call = track(retry({ maxAttempts: 5, backoff: constant(10), clock }).execute(fn));
    await clock.advance(100);
    expect(call.value).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('retries an error thrown synchronously', async () => {
    const clock = manualClock();
    let calls = 0;
    const call = track(
      retry({ backoff: constant(10), clock }).execute(() => {
        if (++calls < 3) throw new Error('sync');
        return 'ok';
      }),
    );
    await clock.advance(100);
    expect(call.value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('hands each attempt a context numbered from 1, with the call’s key', async () => {
    const clock = manualClock();
    const seen: Array<[number, string | undefined]> = [];
    const call = retry({ backoff: constant(10), clock }).execute(
      (ctx) => {
        seen.push([ctx.attempt, ctx.key]);
        throw new Error('x');
      },
      { key: 'tenant' },
    );
    call.catch(() => undefined);
    await clock.advance(100);
    expect(seen).toEqual([
      [1, 'tenant'],
      [2, 'tenant'],
      [3, 'tenant'],
    ]);
  });

  it('numbers its own attempts when nested in another retry', async () => {
    const clock = manualClock();
    const seen: number[] = [];
    const outer = retry({ maxAttempts: 2, backoff: constant(0), clock });
    const inner = retry({ maxAttempts: 2, backoff: constant(0), clock });
    await pipeline(outer, inner)
      .execute((ctx) => {
        seen.push(ctx.attempt);
        throw new Error('x');
      })
      .catch(() => undefined);
    expect(seen).toEqual([1, 2, 1, 2]);
  });
});

describe('retry: the fast path', () => {
  it('reads no clock and sets no timer for a call that succeeds at once', async () => {
    const clock = manualClock();
    let reads = 0;
    let timers = 0;
    const counting = {
      now: () => {
        reads++;
        return clock.now();
      },
      setTimer: (cb: () => void, ms: number) => {
        timers++;
        return clock.setTimer(cb, ms);
      },
    };
    const policy = retry({ clock: counting });
    expect(await policy.execute(async () => 'ok')).toBe('ok');
    expect(await policy.execute(() => 'sync')).toBe('sync');
    expect([reads, timers]).toEqual([0, 0]);
  });

  it('adds no abort listener of its own to a call that succeeds at once', async () => {
    const controller = new AbortController();
    const { signal } = controller;
    let added = 0;
    const add = signal.addEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    await retry({ clock: manualClock() }).execute(async () => 'ok', { signal });
    // The one listener is execute's own, which rejects the call when the caller aborts.
    expect(added).toBe(1);
  });
});

describe('retry: delays', () => {
  it('waits the backoff on the clock before the next attempt', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(1);
    const call = track(retry({ backoff: constant(100), clock }).execute(fn));
    await clock.advance(99);
    expect(attempts).toEqual([1]);
    await clock.advance(1);
    expect(attempts).toEqual([1, 2]);
    expect(call.value).toBe('ok');
  });

  it('waits exponentially longer without jitter: 100, 200, 400 ms', async () => {
    const clock = manualClock();
    const times: number[] = [];
    const call = retry({
      maxAttempts: 4,
      backoff: exponential({ jitter: 'none' }),
      clock,
    }).execute(() => {
      times.push(clock.now());
      throw new Error('x');
    });
    call.catch(() => undefined);
    await clock.advance(10_000);
    expect(times).toEqual([0, 100, 300, 700]);
  });

  it('uses full-jitter exponential backoff by default', async () => {
    const clock = manualClock();
    const delays: number[] = [];
    const policy = retry({ maxAttempts: 4, clock });
    policy.on((e) => {
      if (e.type === 'retry') delays.push(e.delayMs as number);
    });
    policy.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    await clock.advance(10_000);
    expect(delays).toHaveLength(3);
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(100 * 2 ** i);
    });
  });

  it('passes the backoff the failed attempt and its own previous delay', async () => {
    const clock = manualClock();
    const calls: Array<[number, number]> = [];
    const backoff = (attempt: number, previousMs: number) => {
      calls.push([attempt, previousMs]);
      return previousMs + 10;
    };
    retry({ maxAttempts: 4, backoff, clock })
      .execute(() => Promise.reject(new BrokenCircuitError(undefined, { retryAfterMs: 500 })))
      .catch(() => undefined);
    await clock.advance(10_000);
    // The retryAfterMs floor lengthens the wait, not what the backoff sees next time.
    expect(calls).toEqual([
      [1, 0],
      [2, 10],
      [3, 20],
    ]);
  });

  it('retries at once, without a timer, when the delay is 0', async () => {
    const clock = recordingClock();
    const { fn, attempts } = flaky(2);
    expect(await retry({ backoff: constant(0), clock }).execute(fn)).toBe('ok');
    expect(attempts).toEqual([1, 2, 3]);
    expect(clock.kinds).toEqual([]);
  });

  it('sleeps on a call timer, which keeps the process alive', async () => {
    const clock = recordingClock();
    const { fn } = flaky(1);
    const call = track(retry({ backoff: constant(50), clock }).execute(fn));
    await clock.advance(50);
    expect(call.value).toBe('ok');
    expect(clock.kinds).toEqual(['call']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with a RangeError, caused by the last error, when a backoff returns NaN', async () => {
    const error = new Error('down');
    const call = retry({ backoff: () => Number.NaN, clock: manualClock() }).execute(() =>
      Promise.reject(error),
    );
    await expect(call).rejects.toThrow(/retry: backoff must return a finite number >= 0, got NaN/);
    await expect(call).rejects.toMatchObject({ cause: error });
  });
});

describe('retry: retryAfterMs', () => {
  it('waits at least a BrokenCircuitError’s retryAfterMs', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(
      1,
      () => new BrokenCircuitError(undefined, { retryAfterMs: 5_000 }),
    );
    retry({ backoff: constant(100), clock }).execute(fn);
    await clock.advance(4_999);
    expect(attempts).toEqual([1]);
    await clock.advance(1);
    expect(attempts).toEqual([1, 2]);
  });

  it('waits at least a RateLimitedError’s retryAfterMs', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(1, () => new RateLimitedError(undefined, { retryAfterMs: 700 }));
    retry({ backoff: constant(0), clock }).execute(fn);
    await clock.advance(699);
    expect(attempts).toEqual([1]);
    await clock.advance(1);
    expect(attempts).toEqual([1, 2]);
  });

  it('honours retryAfterMs on any error that carries a number', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(1, () => Object.assign(new Error('429'), { retryAfterMs: 300 }));
    retry({ backoff: constant(10), clock }).execute(fn);
    await clock.advance(299);
    expect(attempts).toEqual([1]);
    await clock.advance(1);
    expect(attempts).toEqual([1, 2]);
  });

  it('keeps a backoff longer than retryAfterMs', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(1, () => new RateLimitedError(undefined, { retryAfterMs: 10 }));
    retry({ backoff: constant(200), clock }).execute(fn);
    await clock.advance(199);
    expect(attempts).toEqual([1]);
    await clock.advance(1);
    expect(attempts).toEqual([1, 2]);
  });

  it('ignores a retryAfterMs that is not a finite number', async () => {
    const clock = manualClock();
    const { fn, attempts } = flaky(2, (n) =>
      Object.assign(new Error('x'), { retryAfterMs: n === 1 ? '500' : Number.POSITIVE_INFINITY }),
    );
    retry({ backoff: constant(10), clock }).execute(fn);
    await clock.advance(20);
    expect(attempts).toEqual([1, 2, 3]);
  });
});

describe('retry: which failures', () => {
  it('does not retry an error retryOn refuses, and asks with the attempt’s context', async () => {
    const asked: Array<[unknown, number]> = [];
    const { fn, attempts, errors } = flaky(1);
    const policy = retry({
      clock: manualClock(),
      retryOn: (error, ctx) => {
        asked.push([error, ctx.attempt]);
        return false;
      },
    });
    await expect(policy.execute(fn)).rejects.toBe(errors[0]);
    expect(attempts).toEqual([1]);
    expect(asked).toEqual([[errors[0], 1]]);
  });

  it('retries only the errors retryOn accepts', async () => {
    const clock = manualClock();
    const transient = new Error('transient');
    const fatal = new Error('fatal');
    let calls = 0;
    const call = track(
      retry({
        maxAttempts: 5,
        backoff: constant(1),
        retryOn: (e) => e === transient,
        clock,
      }).execute(() => Promise.reject(++calls === 1 ? transient : fatal)),
    );
    await clock.advance(100);
    expect(calls).toBe(2);
    expect(call.error).toBe(fatal);
  });

  it('retries a result retryOnResult rejects, and returns the first one it accepts', async () => {
    const clock = manualClock();
    const results = [503, 503, 200];
    const seen: number[] = [];
    const call = track(
      retry({
        maxAttempts: 5,
        backoff: constant(10),
        retryOnResult: (status, ctx) => {
          seen.push(ctx.attempt);
          return status !== 200;
        },
        clock,
      }).execute(async () => results.shift()),
    );
    await clock.advance(100);
    expect(call.value).toBe(200);
    expect(seen).toEqual([1, 2, 3]);
  });

  it('returns the last result after the last attempt', async () => {
    const clock = manualClock();
    let n = 0;
    const call = track(
      retry({ maxAttempts: 3, backoff: constant(10), retryOnResult: () => true, clock }).execute(
        () => ++n,
      ),
    );
    await clock.advance(100);
    expect(call.value).toBe(3);
  });

  it('retries a synchronous result retryOnResult rejects', async () => {
    let n = 0;
    const value = await retry({
      backoff: constant(0),
      retryOnResult: (v) => v === 'busy',
      clock: manualClock(),
    }).execute(() => (++n < 2 ? 'busy' : 'done'));
    expect(value).toBe('done');
  });

  it('still retries errors when retryOnResult is set', async () => {
    const { fn, attempts } = flaky(1);
    const policy = retry({
      backoff: constant(0),
      retryOnResult: () => false,
      clock: manualClock(),
    });
    expect(await policy.execute(fn)).toBe('ok');
    expect(attempts).toEqual([1, 2]);
  });
});

describe('retry: cancellation', () => {
  it('rejects at once with the caller’s reason when aborted during the delay, leaving no timer', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const { fn, attempts } = flaky(5);
    const call = track(
      retry({ backoff: constant(1_000), clock }).execute(fn, { signal: controller.signal }),
    );
    await clock.advance(10);
    expect(clock.pendingTimers).toBe(1);
    controller.abort(reason);
    await clock.flush();
    expect(call.error).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10_000);
    expect(attempts).toEqual([1]);
  });

  it('rejects with the reason when an outer policy aborts the scope during the delay', async () => {
    const clock = manualClock();
    const outer = new Abortable();
    const reason = new Error('deadline');
    const { fn, attempts } = flaky(5);
    const call = track(pipeline(outer, retry({ backoff: constant(1_000), clock })).execute(fn));
    await clock.advance(10);
    outer.scope?.abort(reason);
    await clock.flush();
    expect(call.error).toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10_000);
    expect(attempts).toEqual([1]);
  });

  it('removes its abort listener when the delay ends', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const { signal } = controller;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    const { fn } = flaky(2);
    const call = track(retry({ backoff: constant(10), clock }).execute(fn, { signal }));
    await clock.advance(100);
    expect(call.value).toBe('ok');
    // executeRoot's own listener plus one a delay, each removed.
    expect(added).toBe(3);
    expect(removed).toBe(3);
  });

  it('stops before the next attempt when the caller aborts during a zero delay', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const { fn, attempts } = flaky(5);
    const policy = retry({ backoff: constant(0), clock: manualClock() });
    policy.on(() => controller.abort(reason));
    await expect(policy.execute(fn, { signal: controller.signal })).rejects.toBe(reason);
    expect(attempts).toEqual([1]);
  });

  it('never retries the caller’s abort, even when retryOn accepts every error', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const reason = new Error('stop');
    let calls = 0;
    const policy = retry({ backoff: constant(0), retryOn: () => true, clock });
    const call = policy.execute(
      async (ctx: Context) => {
        calls++;
        controller.abort(reason);
        throw ctx.signal.reason;
      },
      { signal: controller.signal },
    );
    await expect(call).rejects.toBe(reason);
    await clock.advance(1_000);
    expect(calls).toBe(1);
  });

  it('does not retry once an outer policy has aborted the scope', async () => {
    const clock = manualClock();
    const outer = new Abortable();
    const inner = new Error('aborted inside');
    let calls = 0;
    const call = pipeline(outer, retry({ backoff: constant(0), clock })).execute(async () => {
      calls++;
      outer.scope?.abort(new Error('deadline'));
      throw inner;
    });
    await expect(call).rejects.toBe(inner);
    expect(calls).toBe(1);
  });

  it('does not retry a result once the scope is aborted, and returns it', async () => {
    const clock = manualClock();
    const outer = new Abortable();
    let calls = 0;
    const call = pipeline(
      outer,
      retry({ backoff: constant(0), retryOnResult: () => true, clock }),
    ).execute(() => {
      calls++;
      outer.scope?.abort(new Error('deadline'));
      return 'partial';
    });
    expect(await call).toBe('partial');
    expect(calls).toBe(1);
  });
});

describe('retry: events', () => {
  it('emits retry for each failed attempt and give-up after the last', async () => {
    const clock = manualClock();
    const events: PolicyEvent[] = [];
    const { fn, errors } = flaky(Number.POSITIVE_INFINITY);
    const policy = retry({ maxAttempts: 3, backoff: constant(25), clock });
    policy.on((e) => events.push(e));
    policy.execute(fn).catch(() => undefined);
    await clock.advance(100);
    expect(events).toEqual([
      { policy: 'retry', type: 'retry', attempt: 1, delayMs: 25, error: errors[0] },
      { policy: 'retry', type: 'retry', attempt: 2, delayMs: 25, error: errors[1] },
      { policy: 'retry', type: 'give-up', attempts: 3, error: errors[2] },
    ]);
  });

  it('reports the floored delay in the retry event', async () => {
    const clock = manualClock();
    const events: PolicyEvent[] = [];
    const { fn, errors } = flaky(1, () => new BrokenCircuitError(undefined, { retryAfterMs: 900 }));
    const policy = retry({ backoff: constant(25), clock });
    policy.on((e) => events.push(e));
    policy.execute(fn);
    await clock.advance(1_000);
    expect(events).toEqual([
      { policy: 'retry', type: 'retry', attempt: 1, delayMs: 900, error: errors[0] },
    ]);
  });

  it('carries the result, not an error, when a result is retried', async () => {
    const clock = manualClock();
    const events: PolicyEvent[] = [];
    const policy = retry({
      maxAttempts: 2,
      backoff: constant(5),
      retryOnResult: () => true,
      clock,
    });
    policy.on((e) => events.push(e));
    policy.execute(() => 'busy');
    await clock.advance(10);
    expect(events).toEqual([
      { policy: 'retry', type: 'retry', attempt: 1, delayMs: 5, result: 'busy' },
      { policy: 'retry', type: 'give-up', attempts: 2, result: 'busy' },
    ]);
  });

  it('emits nothing for an error it does not retry, nor for a success', async () => {
    const events: PolicyEvent[] = [];
    const policy = retry({ retryOn: () => false, clock: manualClock() });
    policy.on((e) => events.push(e));
    await policy.execute(() => 'fine');
    await policy.execute(() => Promise.reject(new Error('fatal'))).catch(() => undefined);
    expect(events).toEqual([]);
  });

  it('is heard through a pipeline', async () => {
    const events: string[] = [];
    const p = pipeline(retry({ backoff: constant(0), clock: manualClock() }));
    p.on((e) => events.push(`${e.policy}:${e.type}`));
    await p.execute(flaky(1).fn);
    expect(events).toEqual(['retry:retry']);
  });
});
