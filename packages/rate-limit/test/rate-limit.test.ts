import { isResilienceError, type PolicyEvent, pipeline, RateLimitedError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import {
  type Decision,
  leakyBucket,
  type RateLimiter,
  rateLimit,
  type StoreListener,
  tokenBucket,
} from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';

function tokens(capacity: number, refillPerSecond: number) {
  const clock = manualClock();
  return { clock, limiter: tokenBucket({ capacity, refillPerSecond, clock }) };
}

function record(policy: { on(l: (e: PolicyEvent) => void): () => void }) {
  const events: PolicyEvent[] = [];
  policy.on((e) => events.push(e));
  return events;
}

async function settle<T>(promise: Promise<T>) {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('rateLimit', () => {
  it('runs the call when the limiter allows it', async () => {
    const { limiter } = tokens(1, 1);
    const policy = rateLimit({ limiter });
    expect(await policy.execute(() => 'done', { key: 'u1' })).toBe('done');
  });

  it('rejects a refused call with RateLimitedError and retryAfterMs, without running it', async () => {
    const { limiter } = tokens(1, 10);
    const policy = rateLimit({ limiter });
    await policy.execute(() => 1, { key: 'u1' });
    let ran = false;
    const error = await policy
      .execute(
        () => {
          ran = true;
        },
        { key: 'u1' },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(isResilienceError(error, 'RATE_LIMITED')).toBe(true);
    expect((error as RateLimitedError).retryAfterMs).toBe(100);
    expect(ran).toBe(false);
  });

  it('takes the bucket key from execute options by default', async () => {
    const { limiter } = tokens(1, 1);
    const policy = rateLimit({ limiter });
    await policy.execute(() => 1, { key: 'a' });
    expect(await policy.execute(() => 2, { key: 'b' })).toBe(2);
    await expect(policy.execute(() => 3, { key: 'a' })).rejects.toThrow(RateLimitedError);
  });

  it('takes the bucket key from the key option when given', async () => {
    const { limiter } = tokens(1, 1);
    const policy = rateLimit({ limiter, key: () => 'global' });
    await policy.execute(() => 1, { key: 'a' });
    await expect(policy.execute(() => 2, { key: 'b' })).rejects.toThrow(RateLimitedError);
  });

  it('rejects a call without a key with a clear TypeError', async () => {
    const { limiter } = tokens(1, 1);
    const policy = rateLimit({ limiter });
    await expect(policy.execute(() => 1)).rejects.toThrow(
      'rateLimit: the call has no key: pass execute(fn, { key }), wrap(..., { key }) or the key option',
    );
  });

  it('rejects a key option that returns no string', async () => {
    const { limiter } = tokens(1, 1);
    const policy = rateLimit({ limiter, key: () => 7 as unknown as string });
    await expect(policy.execute(() => 1)).rejects.toThrow(
      'rateLimit: the key option must return a string, got 7',
    );
  });

  it('takes cost units a call, fixed or per call', async () => {
    const { limiter } = tokens(5, 1);
    const fixed = rateLimit({ limiter, cost: 3 });
    await fixed.execute(() => 1, { key: 'a' });
    await expect(fixed.execute(() => 1, { key: 'a' })).rejects.toThrow(RateLimitedError);
    const perCall = rateLimit({ limiter, cost: (ctx) => (ctx.key === 'b' ? 5 : 1) });
    await perCall.execute(() => 1, { key: 'b' });
    await expect(perCall.execute(() => 1, { key: 'b' })).rejects.toThrow(RateLimitedError);
  });

  it('fails a call whose cost function asks for more than the capacity', async () => {
    const { limiter } = tokens(5, 1);
    const policy = rateLimit({ limiter, cost: () => 6 });
    await expect(policy.execute(() => 1, { key: 'a' })).rejects.toThrow(RangeError);
  });

  it('waits up to maxWaitMs for tokens, then runs the call', async () => {
    const { clock, limiter } = tokens(1, 10);
    const policy = rateLimit({ limiter, maxWaitMs: 150 });
    await policy.execute(() => 1, { key: 'a' });
    let ran = false;
    const call = policy.execute(
      () => {
        ran = true;
        return 2;
      },
      { key: 'a' },
    );
    await clock.advance(99);
    expect(ran).toBe(false);
    await clock.advance(1);
    expect(await call).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once when the tokens come later than maxWaitMs', async () => {
    const { clock, limiter } = tokens(1, 10);
    const policy = rateLimit({ limiter, maxWaitMs: 50 });
    await policy.execute(() => 1, { key: 'a' });
    const error = await policy.execute(() => 2, { key: 'a' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 100 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('takes again after waiting and rejects when others took the tokens first', async () => {
    const clock = manualClock();
    let calls = 0;
    const refused: Decision = {
      allowed: false,
      limit: 1,
      remaining: 0,
      retryAfterMs: 40,
      resetMs: 40,
      waitMs: 0,
    };
    const limiter: RateLimiter = {
      take: () => {
        calls++;
        return Promise.resolve(refused);
      },
    };
    const policy = rateLimit({ limiter, maxWaitMs: 100, clock });
    const call = settle(policy.execute(() => 1, { key: 'a' }));
    await clock.advance(100);
    expect(await call).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(calls).toBe(3); // at 0, 40 and 80; at 80 the next 40 ms exceed the budget
  });

  it('waits for a leaky bucket slot on the clock before running the call', async () => {
    const clock = manualClock();
    const policy = rateLimit({ limiter: leakyBucket({ ratePerSecond: 10, maxQueue: 5, clock }) });
    const started: number[] = [];
    const calls = [0, 1, 2].map(() =>
      policy.execute(() => started.push(clock.now()), { key: 'q' }),
    );
    await clock.advance(500);
    await Promise.all(calls);
    expect(started).toEqual([0, 100, 200]);
  });

  it('rejects when the leaky queue is full', async () => {
    const clock = manualClock();
    const policy = rateLimit({ limiter: leakyBucket({ ratePerSecond: 10, maxQueue: 1, clock }) });
    const calls = [0, 1, 2].map(() => settle(policy.execute(() => 'ran', { key: 'q' })));
    await clock.advance(200);
    expect(await Promise.all(calls)).toEqual([
      { value: 'ran' },
      { value: 'ran' },
      { error: expect.objectContaining({ code: 'RATE_LIMITED', retryAfterMs: 100 }) },
    ]);
  });

  it('ends a slot wait early with the abort reason and does not run the call', async () => {
    const clock = manualClock();
    const policy = rateLimit({ limiter: leakyBucket({ ratePerSecond: 1, maxQueue: 5, clock }) });
    await policy.execute(() => 1, { key: 'q' });
    const controller = new AbortController();
    let ran = false;
    const call = settle(
      policy.execute(
        () => {
          ran = true;
        },
        { key: 'q', signal: controller.signal },
      ),
    );
    await clock.advance(10);
    const reason = new Error('client went away');
    controller.abort(reason);
    expect(await call).toEqual({ error: reason });
    await clock.advance(2000);
    expect(ran).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('ends a wait for tokens early with the abort reason', async () => {
    const { clock, limiter } = tokens(1, 1);
    const policy = rateLimit({ limiter, maxWaitMs: 5000 });
    await policy.execute(() => 1, { key: 'a' });
    const controller = new AbortController();
    const call = settle(policy.execute(() => 2, { key: 'a', signal: controller.signal }));
    await clock.advance(10);
    controller.abort('stop');
    expect(await call).toEqual({ error: 'stop' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not take from the bucket for a call already aborted', async () => {
    const { limiter } = tokens(1, 1);
    const policy = rateLimit({ limiter });
    await expect(
      policy.execute(() => 1, { key: 'a', signal: AbortSignal.abort('gone') }),
    ).rejects.toBe('gone');
    expect((await limiter.take('a')).allowed).toBe(true);
  });

  it('does not run a call aborted while its limiter was deciding', async () => {
    let release: (d: Decision) => void = () => {};
    const limiter: RateLimiter = { take: () => new Promise<Decision>((r) => (release = r)) };
    const policy = rateLimit({ limiter });
    const controller = new AbortController();
    let ran = false;
    const call = settle(
      policy.execute(
        () => {
          ran = true;
        },
        { key: 'a', signal: controller.signal },
      ),
    );
    controller.abort('gone');
    release({ allowed: true, limit: 1, remaining: 0, retryAfterMs: 0, resetMs: 0, waitMs: 0 });
    expect(await call).toEqual({ error: 'gone' });
    await new Promise((r) => setImmediate(r));
    expect(ran).toBe(false);
  });

  it('emits rejected with the key, cost and retryAfterMs', async () => {
    const { limiter } = tokens(1, 10);
    const policy = rateLimit({ limiter });
    const events = record(policy);
    await policy.execute(() => 1, { key: 'a' });
    await policy.execute(() => 1, { key: 'a' }).catch(() => {});
    expect(events).toEqual([
      { policy: 'rate-limit', type: 'rejected', key: 'a', cost: 1, retryAfterMs: 100 },
    ]);
  });

  it('emits delayed before waiting for tokens or a slot', async () => {
    const { clock, limiter } = tokens(1, 10);
    const policy = rateLimit({ limiter, maxWaitMs: 1000 });
    const events = record(policy);
    await policy.execute(() => 1, { key: 'a' });
    const call = policy.execute(() => 2, { key: 'a' });
    await clock.advance(100);
    await call;
    expect(events).toEqual([
      {
        policy: 'rate-limit',
        type: 'delayed',
        key: 'a',
        cost: 1,
        waitMs: 100,
        waitingFor: 'tokens',
      },
    ]);

    const leaky = rateLimit({ limiter: leakyBucket({ ratePerSecond: 10, maxQueue: 1, clock }) });
    const leakyEvents = record(leaky);
    const calls = [leaky.execute(() => 1, { key: 'q' }), leaky.execute(() => 2, { key: 'q' })];
    await clock.advance(100);
    await Promise.all(calls);
    expect(leakyEvents).toEqual([
      { policy: 'rate-limit', type: 'delayed', key: 'q', cost: 1, waitMs: 100, waitingFor: 'slot' },
    ]);
  });

  it('relays the events of its limiter’s store', async () => {
    let listener: StoreListener | undefined;
    const store = {
      take: () => Promise.reject(new Error('not used')),
      on(l: StoreListener) {
        listener = l;
        return () => {};
      },
    };
    const policy = rateLimit({ limiter: tokenBucket({ capacity: 1, refillPerSecond: 1, store }) });
    const events = record(policy);
    const error = new Error('Redis did not answer');
    listener?.({ type: 'store-error', error, key: 'a', onStoreError: 'local' });
    expect(events).toEqual([
      { policy: 'rate-limit', type: 'store-error', error, key: 'a', onStoreError: 'local' },
    ]);
  });

  it('sets no timer and emits nothing for a call that passes', async () => {
    const { clock, limiter } = tokens(10, 1);
    const policy = rateLimit({ limiter, maxWaitMs: 1000 });
    const events = record(policy);
    await policy.execute(() => 1, { key: 'a' });
    expect(events).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('passes the failure of the call through untouched', async () => {
    const { limiter } = tokens(10, 1);
    const policy = rateLimit({ limiter });
    const failure = new Error('boom');
    await expect(
      policy.execute(
        () => {
          throw failure;
        },
        { key: 'a' },
      ),
    ).rejects.toBe(failure);
  });
});

describe('store subscription', () => {
  it('subscribes to the store only while someone listens to the policy', () => {
    let subscribed = 0;
    const store = {
      take: () => ({ allowed: true }) as never,
      on: () => {
        subscribed++;
        return () => {
          subscribed--;
        };
      },
    };
    const limiter = { take: async () => ({}) as never, on: store.on };
    const policy = rateLimit({ limiter: limiter as never });
    expect(subscribed).toBe(0);
    const outer = pipeline(policy);
    const stopA = outer.on(() => {});
    const stopB = policy.on(() => {});
    expect(subscribed).toBe(1);
    stopA();
    expect(subscribed).toBe(1);
    stopB();
    expect(subscribed).toBe(0);
  });
});
