import { bulkhead } from '@bulwark/bulkhead';
import {
  BulkheadRejectedError,
  type CallContext,
  type InnerTask,
  isResilienceError,
  PolicyBase,
  type PolicyEvent,
  pipeline,
  RUN,
  TimeoutError,
} from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { timeout } from '@bulwark/timeout';
import { describe, expect, it } from 'vitest';
import { countedSignal, type Deferred, deferred, settle, track } from './helpers.js';

/** A policy that holds every call at a gate before passing it on. */
class Later extends PolicyBase {
  constructor(public gate: Promise<void>) {
    super('later');
  }

  async [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): Promise<T> {
    await this.gate;
    return fn(ctx);
  }
}

/** Starts a call that runs until its deferred is settled, and logs when it starts. */
function starter(
  policy: { execute<T>(fn: () => Promise<T>, o?: { signal?: AbortSignal }): Promise<T> },
  log: string[],
) {
  const works = new Map<string, Deferred<string>>();
  const start = (name: string, signal?: AbortSignal) => {
    const work = deferred<string>();
    works.set(name, work);
    return track(
      policy.execute(
        () => {
          log.push(name);
          return work.promise;
        },
        { signal },
      ),
    );
  };
  const finish = (name: string) => works.get(name)?.resolve(name);
  return { start, finish };
}

describe('bulkhead: running and rejecting', () => {
  it('runs up to maxConcurrent calls at once and counts them', async () => {
    const policy = bulkhead({ maxConcurrent: 2 });
    const log: string[] = [];
    const { start, finish } = starter(policy, log);
    start('a');
    start('b');
    expect(policy.executing).toBe(2);
    expect(log).toEqual(['a', 'b']);
    finish('a');
    await settle();
    expect(policy.executing).toBe(1);
    finish('b');
    await settle();
    expect(policy.executing).toBe(0);
  });

  it('rejects with BulkheadRejectedError when every slot is taken and there is no queue', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const log: string[] = [];
    const { start } = starter(policy, log);
    start('a');
    const b = start('b');
    await settle();
    expect(b.error).toBeInstanceOf(BulkheadRejectedError);
    expect(isResilienceError(b.error, 'BULKHEAD_FULL')).toBe(true);
    expect((b.error as Error).message).toBe(
      'bulkhead: full: 1 running of maxConcurrent 1, 0 queued of maxQueue 0',
    );
    expect(log).toEqual(['a']);
  });

  it('rejects once the queue is full too', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2 });
    const { start } = starter(policy, []);
    const calls = ['a', 'b', 'c', 'd'].map((n) => start(n));
    await settle();
    expect(calls.map((c) => c.state)).toEqual(['pending', 'pending', 'pending', 'rejected']);
    expect(policy.executing).toBe(1);
    expect(policy.queued).toBe(2);
  });

  it('frees the slot when a call fails', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    await expect(policy.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(policy.executing).toBe(0);
    await expect(policy.execute(async () => 'next')).resolves.toBe('next');
  });

  it('frees the slot when fn returns or throws synchronously', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    await expect(policy.execute(() => 5)).resolves.toBe(5);
    expect(policy.executing).toBe(0);
    await expect(
      policy.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
    expect(policy.executing).toBe(0);
  });

  it('frees the slot once for a thenable that calls back twice', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const twice: PromiseLike<number> = {
      // biome-ignore lint/suspicious/noThenProperty: a foreign thenable is what this test is about
      then(onValue) {
        onValue?.(1);
        onValue?.(2);
        return Promise.resolve() as never;
      },
    };
    await expect(policy.execute(() => twice)).resolves.toBe(1);
    expect(policy.executing).toBe(0);
  });

  it('passes the context through to fn', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const controller = new AbortController();
    const seen = await policy.execute((ctx) => [ctx.attempt, ctx.key, ctx.signal], {
      key: 'k',
      signal: controller.signal,
    });
    expect(seen).toEqual([1, 'k', controller.signal]);
  });
});

describe('bulkhead: the queue', () => {
  it('starts queued calls only when a slot frees, first come first served', async () => {
    const policy = bulkhead({ maxConcurrent: 2, maxQueue: 10 });
    const log: string[] = [];
    const { start, finish } = starter(policy, log);
    for (const n of ['a', 'b', 'c', 'd', 'e']) start(n);
    expect(log).toEqual(['a', 'b']);
    expect(policy.queued).toBe(3);
    finish('b');
    await settle();
    expect(log).toEqual(['a', 'b', 'c']);
    finish('a');
    await settle();
    expect(log).toEqual(['a', 'b', 'c', 'd']);
    finish('c');
    finish('d');
    await settle();
    expect(log).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(policy.executing).toBe(1);
    expect(policy.queued).toBe(0);
  });

  it('gives a queued call the value of its own fn', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const first = deferred<string>();
    const a = policy.execute(() => first.promise);
    const b = policy.execute(async () => 'b');
    first.resolve('a');
    await expect(Promise.all([a, b])).resolves.toEqual(['a', 'b']);
    expect(policy.executing).toBe(0);
  });

  it('moves on to the next in line when a queued fn throws synchronously', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 3 });
    const first = deferred<string>();
    void policy.execute(() => first.promise);
    const b = track(
      policy.execute(() => {
        throw new Error('b failed');
      }),
    );
    const c = track(policy.execute(() => 'c'));
    const d = deferred<string>();
    const dCall = track(policy.execute(() => d.promise));
    first.resolve('a');
    await settle();
    expect((b.error as Error).message).toBe('b failed');
    expect(c.value).toBe('c');
    expect(dCall.state).toBe('pending');
    expect(policy.executing).toBe(1);
    d.resolve('d');
    await settle();
    expect(policy.executing).toBe(0);
  });

  it('queues a call that a running fn starts synchronously behind those already waiting', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const log: string[] = [];
    const first = deferred<void>();
    void policy.execute(() => first.promise);
    const b = policy.execute(() => {
      log.push('b');
      void policy.execute(() => {
        log.push('b-child');
      });
    });
    void policy.execute(() => {
      log.push('c');
    });
    first.resolve();
    await b;
    await settle();
    expect(log).toEqual(['b', 'c', 'b-child']);
    expect(policy.executing).toBe(0);
  });
});

describe('bulkhead: abort while queued', () => {
  it("takes a queued call out at once when its caller aborts, rejecting with the caller's reason", async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const log: string[] = [];
    const { start } = starter(policy, log);
    start('a');
    const controller = new AbortController();
    const b = start('b', controller.signal);
    const reason = new Error('user left');
    controller.abort(reason);
    expect(policy.queued).toBe(0);
    await settle();
    expect(b.error).toBe(reason);
    expect(log).toEqual(['a']);
  });

  it('never runs an aborted queued call and does not let it take a slot (cockatiel #112/#114)', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 3 });
    const log: string[] = [];
    const { start, finish } = starter(policy, log);
    start('a');
    const controllers = [new AbortController(), new AbortController()];
    start('b', controllers[0]?.signal);
    start('c', controllers[1]?.signal);
    const d = start('d');
    controllers[0]?.abort();
    controllers[1]?.abort();
    finish('a');
    await settle();
    expect(log).toEqual(['a', 'd']);
    expect(policy.executing).toBe(1);
    finish('d');
    await settle();
    expect(d.value).toBe('d');
    expect(policy.executing).toBe(0);
    expect(policy.queued).toBe(0);
  });

  it('removes its abort listener when the queued call starts, and the abort then no longer reaches the queue', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const log: string[] = [];
    const { start, finish } = starter(policy, log);
    start('a');
    const counted = countedSignal();
    start('b', counted.signal);
    // One listener from the root (it rejects the call on abort), one from the queue.
    expect(counted.listeners).toBe(2);
    finish('a');
    await settle();
    expect(log).toEqual(['a', 'b']);
    expect(counted.listeners).toBe(1);
    finish('b');
    await settle();
    expect(counted.listeners).toBe(0);
  });

  it('removes its abort listener when the queued call is aborted', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const { start } = starter(policy, []);
    start('a');
    const counted = countedSignal();
    start('b', counted.signal);
    counted.controller.abort();
    await settle();
    expect(counted.listeners).toBe(0);
  });

  it('rejects at once, without queueing, a call whose signal already aborted', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const { start } = starter(policy, []);
    start('a');
    const reason = new Error('gone');
    const b = start('b', AbortSignal.abort(reason));
    await settle();
    expect(b.error).toBe(reason);
    expect(policy.queued).toBe(0);
  });

  it('rejects without queueing a call whose signal aborted before it reached the bulkhead', async () => {
    const inner = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const gate = deferred<void>();
    const later = new Later(gate.promise);
    const log: string[] = [];
    const { start } = starter(pipeline(later, inner), log);
    start('a');
    const controller = new AbortController();
    gate.resolve();
    await settle();
    const reason = new Error('gone');
    const gate2 = deferred<void>();
    later.gate = gate2.promise;
    const b = start('b', controller.signal);
    controller.abort(reason);
    gate2.resolve();
    await settle();
    expect(b.error).toBe(reason);
    expect(inner.queued).toBe(0);
    expect(log).toEqual(['a']);
  });

  it('takes a queued call out at once when an outer timeout fires', async () => {
    const clock = manualClock();
    const inner = bulkhead({ maxConcurrent: 1, maxQueue: 5 });
    const policy = pipeline(timeout({ ms: 100, clock }), inner);
    const log: string[] = [];
    const { start, finish } = starter(policy, log);
    start('a');
    await clock.advance(50);
    const b = start('b');
    expect(inner.queued).toBe(1);
    await clock.advance(50); // a times out (its fn goes on), and so does nothing else yet
    expect(inner.queued).toBe(1);
    await clock.advance(50); // b's deadline
    expect(inner.queued).toBe(0);
    expect(b.error).toBeInstanceOf(TimeoutError);
    finish('a');
    await settle();
    expect(log).toEqual(['a']);
    expect(inner.executing).toBe(0);
    await clock.flush();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('bulkhead: queue timeout', () => {
  it('rejects a call still queued after queueTimeoutMs, saying so', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 200, clock });
    const { start } = starter(policy, []);
    start('a');
    const b = start('b');
    await clock.advance(199);
    expect(b.state).toBe('pending');
    await clock.advance(1);
    expect(b.error).toBeInstanceOf(BulkheadRejectedError);
    expect((b.error as Error).message).toBe(
      'bulkhead: no slot came free within queueTimeoutMs (200 ms) while the call waited in the queue',
    );
    expect(policy.queued).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('times out each queued call at its own time, with one timer for the queue', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 100, clock });
    const { start } = starter(policy, []);
    start('a');
    const b = start('b');
    await clock.advance(30);
    const c = start('c');
    await clock.advance(30);
    const d = start('d');
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(39); // t = 99
    expect([b.state, c.state, d.state]).toEqual(['pending', 'pending', 'pending']);
    await clock.advance(1); // t = 100
    expect([b.state, c.state, d.state]).toEqual(['rejected', 'pending', 'pending']);
    await clock.advance(30); // t = 130
    expect([c.state, d.state]).toEqual(['rejected', 'pending']);
    await clock.advance(30); // t = 160
    expect(d.state).toBe('rejected');
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects every queued call whose wait ran out when the clock fell behind', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 5, queueTimeoutMs: 100, clock });
    const { start } = starter(policy, []);
    start('a');
    const b = start('b');
    clock.jump(10);
    const c = start('c');
    clock.jump(10);
    const d = start('d');
    clock.jump(95); // t = 115: the loop was blocked: b's and c's waits ran out, d's did not
    await clock.advance(0);
    await settle();
    expect([b.state, c.state, d.state]).toEqual(['rejected', 'rejected', 'pending']);
    expect(policy.queued).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    clock.jump(5);
    await clock.advance(0);
    await settle();
    expect(d.state).toBe('rejected');
    expect(clock.pendingTimers).toBe(0);
  });

  it('cancels the queue timer when the queue empties because calls started', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 2, queueTimeoutMs: 100, clock });
    const { start, finish } = starter(policy, []);
    start('a');
    const b = start('b');
    expect(clock.pendingTimers).toBe(1);
    finish('a');
    await settle();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(500);
    expect(b.state).toBe('pending'); // running now: the queue timeout no longer applies
    finish('b');
    await settle();
    expect(b.value).toBe('b');
  });

  it('lets a call that started in time run past queueTimeoutMs', async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 50, clock });
    const { start, finish } = starter(policy, []);
    const a = start('a');
    await clock.advance(500);
    finish('a');
    await settle();
    expect(a.value).toBe('a');
  });

  it('uses timers of kind call', async () => {
    const clock = manualClock();
    const kinds: string[] = [];
    const spy = {
      now: () => clock.now(),
      setTimer: (cb: () => void, ms: number, kind?: 'call' | 'background') => {
        kinds.push(kind ?? 'call');
        return clock.setTimer(cb, ms, kind);
      },
    };
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 10, clock: spy });
    const { start } = starter(policy, []);
    start('a');
    start('b');
    expect(kinds).toEqual(['call']);
  });
});

describe('bulkhead: events', () => {
  it("emits rejected with reason 'full'", async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    const { start } = starter(policy, []);
    start('a');
    start('b');
    expect(events).toEqual([
      { policy: 'bulkhead', type: 'rejected', reason: 'full', executing: 1, queued: 0 },
    ]);
  });

  it("emits queued, then rejected with reason 'queue-timeout'", async () => {
    const clock = manualClock();
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: 1, queueTimeoutMs: 10, clock });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    const { start } = starter(policy, []);
    start('a');
    start('b');
    await clock.advance(10);
    expect(events).toEqual([
      { policy: 'bulkhead', type: 'queued', queued: 1, executing: 1 },
      { policy: 'bulkhead', type: 'rejected', reason: 'queue-timeout', executing: 1, queued: 0 },
    ]);
  });

  it('emits nothing for calls that find a free slot', async () => {
    const policy = bulkhead({ maxConcurrent: 1 });
    const events: PolicyEvent[] = [];
    policy.on((e) => events.push(e));
    await policy.execute(async () => 1);
    expect(events).toEqual([]);
  });
});

describe('bulkhead: settings', () => {
  it('exposes its settings', () => {
    const policy = bulkhead({ maxConcurrent: 3, maxQueue: 4, queueTimeoutMs: 50 });
    expect([policy.maxConcurrent, policy.maxQueue, policy.queueTimeoutMs]).toEqual([3, 4, 50]);
    expect(bulkhead({ maxConcurrent: 1 }).maxQueue).toBe(0);
    expect(bulkhead({ maxConcurrent: 1 }).queueTimeoutMs).toBeUndefined();
  });

  it('accepts an unbounded queue', async () => {
    const policy = bulkhead({ maxConcurrent: 1, maxQueue: Number.POSITIVE_INFINITY });
    const { start } = starter(policy, []);
    for (let i = 0; i < 1000; i++) start(`c${i}`);
    expect(policy.queued).toBe(999);
  });
});
