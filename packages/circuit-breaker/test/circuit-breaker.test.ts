import { circuitBreaker, consecutiveBreaker, failureRateBreaker } from '@bulwark/circuit-breaker';
import { BrokenCircuitError, isResilienceError, pipeline } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';
import {
  deferred,
  fail,
  failCalls,
  ok,
  outage,
  passCalls,
  record,
  rejection,
  types,
} from './helpers.js';

function setup(options: { threshold?: number; halfOpenMaxCalls?: number } = {}) {
  const clock = manualClock();
  const breaker = circuitBreaker({
    breaker: consecutiveBreaker(options.threshold ?? 3),
    halfOpenAfterMs: 1_000,
    halfOpenMaxCalls: options.halfOpenMaxCalls ?? 1,
    clock,
  });
  return { clock, breaker };
}

describe('circuitBreaker: closed', () => {
  it('passes calls through and returns their values', async () => {
    const { breaker } = setup();
    expect(await breaker.execute(async () => 42)).toBe(42);
    expect(await breaker.execute(() => 'sync')).toBe('sync');
    expect(breaker.state).toBe('closed');
  });

  it('passes failures through untouched', async () => {
    const { breaker } = setup();
    expect(await rejection(breaker.execute(fail))).toBe(outage);
    const thrown = new Error('sync');
    expect(
      await rejection(
        breaker.execute(() => {
          throw thrown;
        }),
      ),
    ).toBe(thrown);
  });

  it('opens after 3 consecutive failures', async () => {
    const { breaker } = setup();
    await failCalls(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('counts a synchronous throw as a failure', async () => {
    const { breaker } = setup({ threshold: 1 });
    await rejection(
      breaker.execute(() => {
        throw outage;
      }),
    );
    expect(breaker.state).toBe('open');
  });

  it('starts the consecutive count again after a success', async () => {
    const { breaker } = setup();
    await failCalls(breaker, 2);
    await passCalls(breaker, 1);
    await failCalls(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('counts an error that isFailure rejects as a success', async () => {
    const clock = manualClock();
    const notFound = new Error('404');
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(2),
      isFailure: (error) => error !== notFound,
      clock,
    });
    await failCalls(breaker, 1);
    expect(await rejection(breaker.execute(() => Promise.reject(notFound)))).toBe(notFound);
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('closed');
    expect(breaker.stats()).toMatchObject({ calls: 3, failures: 2 });
  });

  it("counts the caller's abort as neither a success nor a failure", async () => {
    const { breaker } = setup({ threshold: 2 });
    await failCalls(breaker, 1);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const call = breaker.execute(
      (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(outage))),
      { signal: controller.signal },
    );
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
    // The abort did not break the run of failures, nor add to it.
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 1, failures: 1 });
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('ignores calls that started before the circuit last changed state', async () => {
    const { breaker } = setup({ threshold: 1 });
    const slow = deferred();
    const pending = breaker.execute(() => slow.promise);
    breaker.reset();
    slow.reject(outage);
    expect(await rejection(pending)).toBe(outage);
    expect(breaker.state).toBe('closed');
    expect(breaker.stats().calls).toBe(0);
  });

  it('reads no clock for a consecutive breaker and sets no timer', async () => {
    const clock = manualClock();
    let reads = 0;
    const counting = {
      now: () => {
        reads++;
        return clock.now();
      },
      setTimer: clock.setTimer,
    };
    const breaker = circuitBreaker({ breaker: consecutiveBreaker(3), clock: counting });
    const before = reads;
    await passCalls(breaker, 10);
    await failCalls(breaker, 2);
    expect(reads).toBe(before);
    expect(clock.pendingTimers).toBe(0);
  });

  it('works inside a pipeline', async () => {
    const { breaker } = setup({ threshold: 1 });
    const p = pipeline(breaker);
    await failCalls(p, 1);
    expect(isResilienceError(await rejection(p.execute(ok)), 'CIRCUIT_OPEN')).toBe(true);
  });
});

describe('circuitBreaker: open', () => {
  it('rejects with BrokenCircuitError without calling fn', async () => {
    const { breaker } = setup({ threshold: 1 });
    await failCalls(breaker, 1);
    let calls = 0;
    const error = await rejection(breaker.execute(() => ++calls));
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(isResilienceError(error, 'CIRCUIT_OPEN')).toBe(true);
    expect(calls).toBe(0);
  });

  it('says in retryAfterMs how long until the next probe', async () => {
    const { breaker, clock } = setup({ threshold: 1 });
    await failCalls(breaker, 1);
    await clock.advance(400);
    const error = (await rejection(breaker.execute(ok))) as BrokenCircuitError;
    expect(error.retryAfterMs).toBe(600);
    expect(error.message).toMatch(/circuit-breaker: the circuit is open/);
  });

  it('stays open until halfOpenAfterMs has passed, then lets the next call probe', async () => {
    const { breaker, clock } = setup({ threshold: 1 });
    await failCalls(breaker, 1);
    await clock.advance(999);
    expect(await rejection(breaker.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    await clock.advance(1);
    expect(await breaker.execute(ok)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('turns half-open lazily: the state says open until a call arrives', async () => {
    const { breaker, clock } = setup({ threshold: 1 });
    await failCalls(breaker, 1);
    await clock.advance(5_000);
    expect(breaker.state).toBe('open');
    expect(clock.pendingTimers).toBe(0);
    const probe = deferred();
    const call = breaker.execute(() => probe.promise);
    expect(breaker.state).toBe('half-open');
    probe.resolve('ok');
    await call;
  });
});

describe('circuitBreaker: half-open', () => {
  async function halfOpen(maxCalls: number) {
    const { breaker, clock } = setup({ threshold: 1, halfOpenMaxCalls: maxCalls });
    await failCalls(breaker, 1);
    await clock.advance(1_000);
    return { breaker, clock };
  }

  it('admits halfOpenMaxCalls probes and rejects the others without calling fn', async () => {
    const { breaker } = await halfOpen(2);
    const probes = [deferred(), deferred()];
    let started = 0;
    const calls = probes.map((p) =>
      breaker.execute(() => {
        started++;
        return p.promise;
      }),
    );
    const extra = (await rejection(breaker.execute(ok))) as BrokenCircuitError;
    expect(started).toBe(2);
    expect(extra).toBeInstanceOf(BrokenCircuitError);
    expect(extra.retryAfterMs).toBeUndefined();
    expect(extra.message).toMatch(/half-open and its probes are still running/);
    for (const p of probes) p.resolve('ok');
    await Promise.all(calls);
  });

  it('closes only when every probe has succeeded', async () => {
    const { breaker } = await halfOpen(3);
    await breaker.execute(ok);
    await breaker.execute(ok);
    expect(breaker.state).toBe('half-open');
    await breaker.execute(ok);
    expect(breaker.state).toBe('closed');
  });

  it('reopens on any probe failure, and the other probes no longer count', async () => {
    const { breaker } = await halfOpen(2);
    const first = deferred();
    const call = breaker.execute(() => first.promise);
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('open');
    first.resolve('ok');
    await call;
    expect(breaker.state).toBe('open');
  });

  it('does not let more probes through than halfOpenMaxCalls once some have succeeded', async () => {
    const { breaker } = await halfOpen(2);
    await breaker.execute(ok);
    const second = deferred();
    const call = breaker.execute(() => second.promise);
    expect(await rejection(breaker.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    second.resolve('ok');
    await call;
    expect(breaker.state).toBe('closed');
  });

  it("gives a probe's place back when its caller aborts", async () => {
    const { breaker } = await halfOpen(1);
    const controller = new AbortController();
    const call = breaker.execute(
      (ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(outage))),
      { signal: controller.signal },
    );
    controller.abort(new Error('bye'));
    await rejection(call);
    expect(breaker.state).toBe('half-open');
    await breaker.execute(ok);
    expect(breaker.state).toBe('closed');
  });

  it('counts a probe error that isFailure rejects as a success', async () => {
    const clock = manualClock();
    const notFound = new Error('404');
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(1),
      halfOpenAfterMs: 10,
      isFailure: (error) => error !== notFound,
      clock,
    });
    await failCalls(breaker, 1);
    await clock.advance(10);
    await rejection(breaker.execute(() => Promise.reject(notFound)));
    expect(breaker.state).toBe('closed');
  });

  it('reopens when a probe is slow and slow calls are tracked', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      breaker: failureRateBreaker({ window: { calls: 2 }, minimumCalls: 2, slowCallMs: 100 }),
      halfOpenAfterMs: 1_000,
      clock,
    });
    await failCalls(breaker, 2);
    await clock.advance(1_000);
    const probe = deferred();
    const call = breaker.execute(() => probe.promise);
    await clock.advance(101);
    probe.resolve('late');
    expect(await call).toBe('late');
    expect(breaker.state).toBe('open');
    expect(breaker.stats().consecutiveOpens).toBe(2);
  });

  it('closes with fresh counts', async () => {
    const { breaker, clock } = setup({ threshold: 2 });
    await failCalls(breaker, 1);
    await passCalls(breaker, 1);
    await failCalls(breaker, 2);
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0, consecutiveOpens: 0 });
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('closed');
  });
});

describe('circuitBreaker: isolate', () => {
  it('holds the circuit open until released', async () => {
    const { breaker } = setup();
    const release = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    let calls = 0;
    const error = (await rejection(breaker.execute(() => ++calls))) as BrokenCircuitError;
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(error.retryAfterMs).toBeUndefined();
    expect(error.message).toMatch(/isolated/);
    expect(calls).toBe(0);
    release();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(ok)).toBe('ok');
  });

  it('stays isolated past halfOpenAfterMs', async () => {
    const { breaker, clock } = setup();
    breaker.isolate();
    await clock.advance(60_000);
    expect(await rejection(breaker.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    expect(breaker.state).toBe('isolated');
  });

  it('nests: released when every isolation is released, each release counting once', async () => {
    const { breaker } = setup();
    const a = breaker.isolate();
    const b = breaker.isolate();
    a();
    a();
    expect(breaker.state).toBe('isolated');
    b();
    expect(breaker.state).toBe('closed');
  });

  it('closes with counts cleared when released, whatever the state before', async () => {
    const { breaker } = setup({ threshold: 2 });
    await failCalls(breaker, 2);
    const release = breaker.isolate();
    release();
    expect(breaker.stats()).toMatchObject({ state: 'closed', calls: 0, consecutiveOpens: 0 });
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('closed');
  });

  it('ends every isolation on reset; a release from before the reset does nothing', async () => {
    const { breaker } = setup();
    const old = breaker.isolate();
    breaker.reset();
    expect(breaker.state).toBe('closed');
    const current = breaker.isolate();
    old();
    expect(breaker.state).toBe('isolated');
    current();
    expect(breaker.state).toBe('closed');
  });
});

describe('circuitBreaker: reset', () => {
  it('closes an open circuit', async () => {
    const { breaker } = setup({ threshold: 1 });
    await failCalls(breaker, 1);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(ok)).toBe('ok');
  });

  it('clears the counts of a closed circuit', async () => {
    const { breaker } = setup({ threshold: 3 });
    await failCalls(breaker, 2);
    breaker.reset();
    await failCalls(breaker, 2);
    expect(breaker.state).toBe('closed');
  });
});

describe('circuitBreaker: stats', () => {
  it('reports the state, the counts and rates of the window, and when the state last changed', async () => {
    const clock = manualClock(1_000);
    const breaker = circuitBreaker({
      breaker: failureRateBreaker({ window: { calls: 10 }, slowCallMs: 50 }),
      clock,
    });
    await passCalls(breaker, 2);
    await failCalls(breaker, 1);
    const slow = breaker.execute(() => clock.advance(60));
    await slow;
    expect(breaker.stats()).toEqual({
      state: 'closed',
      calls: 4,
      failures: 1,
      slowCalls: 1,
      failureRate: 0.25,
      slowCallRate: 0.25,
      since: 1_000,
      consecutiveOpens: 0,
    });
  });

  it('reports rates of 0 before any call', () => {
    const { breaker } = setup();
    expect(breaker.stats()).toMatchObject({ calls: 0, failureRate: 0, slowCallRate: 0 });
  });

  it('moves since with each state change', async () => {
    const { breaker, clock } = setup({ threshold: 1 });
    await clock.advance(250);
    await failCalls(breaker, 1);
    expect(breaker.stats()).toMatchObject({ state: 'open', since: 250, consecutiveOpens: 1 });
  });
});

describe('circuitBreaker: events', () => {
  it('emits open, half-open and close with their details', async () => {
    const { breaker, clock } = setup({ threshold: 2 });
    const events = record(breaker);
    await failCalls(breaker, 2);
    await clock.advance(1_000);
    await breaker.execute(ok);
    expect(events).toEqual([
      {
        policy: 'circuit-breaker',
        type: 'open',
        from: 'closed',
        calls: 2,
        failures: 2,
        slowCalls: 0,
        failureRate: 1,
        slowCallRate: 0,
        retryAfterMs: 1_000,
        consecutiveOpens: 1,
        remote: false,
      },
      { policy: 'circuit-breaker', type: 'half-open', from: 'open', remote: false },
      { policy: 'circuit-breaker', type: 'close', from: 'half-open', remote: false },
    ]);
  });

  it('emits rejected with the state and retryAfterMs', async () => {
    const { breaker, clock } = setup({ threshold: 1 });
    await failCalls(breaker, 1);
    await clock.advance(300);
    const events = record(breaker);
    await rejection(breaker.execute(ok));
    expect(events).toEqual([
      { policy: 'circuit-breaker', type: 'rejected', state: 'open', retryAfterMs: 700 },
    ]);
  });

  it('emits isolate, close and reset', async () => {
    const { breaker } = setup();
    const events = record(breaker);
    breaker.isolate()();
    breaker.reset();
    expect(events).toEqual([
      { policy: 'circuit-breaker', type: 'isolate', from: 'closed', remote: false },
      { policy: 'circuit-breaker', type: 'close', from: 'isolated', remote: false },
      { policy: 'circuit-breaker', type: 'reset', from: 'closed' },
    ]);
  });

  it('names its events after the name option', async () => {
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(1),
      name: 'payments',
      clock: manualClock(),
    });
    const events = record(breaker);
    await failCalls(breaker, 1);
    expect(events[0]).toMatchObject({ policy: 'payments', type: 'open' });
    expect(((await rejection(breaker.execute(ok))) as Error).message).toMatch(/^payments: /);
  });

  it('reports an isFailure that throws as an uncaught exception and counts a failure', async () => {
    const clock = manualClock();
    const bug = new Error('predicate bug');
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(1),
      isFailure: () => {
        throw bug;
      },
      clock,
    });
    const uncaught: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      expect(await rejection(breaker.execute(fail))).toBe(outage);
      await clock.flush();
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of listeners) process.on('uncaughtException', l);
    }
    expect(uncaught).toEqual([bug]);
    expect(breaker.state).toBe('open');
  });

  it('lists the events it emits in order of what happened', async () => {
    const { breaker, clock } = setup({ threshold: 1 });
    const events = record(breaker);
    await failCalls(breaker, 1);
    await rejection(breaker.execute(ok));
    await clock.advance(1_000);
    await failCalls(breaker, 1);
    expect(types(events)).toEqual(['open', 'rejected', 'half-open', 'open']);
  });
});
