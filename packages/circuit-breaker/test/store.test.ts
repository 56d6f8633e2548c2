import {
  type CircuitRecord,
  type CircuitStatusListener,
  type CircuitStore,
  circuitBreaker,
  consecutiveBreaker,
  memoryCircuitStore,
} from '@bulwark/circuit-breaker';
import { BrokenCircuitError, isResilienceError, type PolicyEvent } from '@bulwark/core';
import { type ManualClock, manualClock } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';
import { deferred, failCalls, ok, passCalls, record, rejection, types } from './helpers.js';

function fleet(store: CircuitStore, clock: ManualClock, size = 2, threshold = 3) {
  return Array.from({ length: size }, () =>
    circuitBreaker({
      breaker: consecutiveBreaker(threshold),
      halfOpenAfterMs: 1_000,
      store,
      name: 'payments',
      clock,
    }),
  );
}

/** The memory store behind promises, as a network store answers. */
function asyncStore(inner = memoryCircuitStore(), options: { watch?: boolean } = {}): CircuitStore {
  const store: CircuitStore = {
    read: async (name) => inner.read(name),
    write: async (name, expected, next) => inner.write(name, expected, next),
  };
  if (options.watch) {
    store.watch = (name, listener) => inner.watch!(name, (r) => queueMicrotask(() => listener(r)));
  }
  return store;
}

function counting(inner: CircuitStore) {
  const calls: string[] = [];
  const store: CircuitStore = {
    read(name) {
      calls.push('read');
      return inner.read(name);
    },
    write(name, expected, next) {
      calls.push(`write ${next.state}`);
      return inner.write(name, expected, next);
    },
    watch: (name, listener) => inner.watch!(name, listener),
  };
  return { store, calls };
}

const closedAt = (version: number): CircuitRecord => ({
  state: 'closed',
  version,
  entered: version,
  since: 0,
  consecutiveOpens: 0,
  halfOpenAt: 0,
  lastWaitMs: 0,
  probes: 0,
  successes: 0,
  isolations: 0,
});

describe('memoryCircuitStore', () => {
  it('has no record for a circuit never written', () => {
    expect(memoryCircuitStore().read('x')).toBeUndefined();
  });

  it('writes only over the version it is told to expect', () => {
    const store = memoryCircuitStore();
    expect(store.write('x', 1, closedAt(2))).toBe(false);
    expect(store.write('x', 0, closedAt(1))).toBe(true);
    expect(store.write('x', 0, closedAt(1))).toBe(false);
    expect(store.read('x')).toEqual(closedAt(1));
    expect(store.read('y')).toBeUndefined();
  });

  it('tells watchers of each write until they unsubscribe', () => {
    const store = memoryCircuitStore();
    const seen: number[] = [];
    const listener = (r: CircuitRecord) => seen.push(r.version);
    const stop = store.watch!('x', listener);
    store.write('x', 0, closedAt(1));
    store.write('y', 0, closedAt(1));
    stop();
    store.write('x', 1, closedAt(2));
    expect(seen).toEqual([1]);
  });
});

describe('circuitBreaker with a shared store', () => {
  it('shares one circuit between breakers of the same name', async () => {
    const clock = manualClock();
    const [a, b] = fleet(memoryCircuitStore(), clock);
    const heard = record(b!);
    await failCalls(a!, 3);
    expect(b!.state).toBe('open');
    expect(await rejection(b!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    expect(heard[0]).toMatchObject({ type: 'open', from: 'closed', remote: true });
  });

  it('keeps circuits of other names apart', async () => {
    const clock = manualClock();
    const store = memoryCircuitStore();
    const a = circuitBreaker({ breaker: consecutiveBreaker(1), store, name: 'a', clock });
    const b = circuitBreaker({ breaker: consecutiveBreaker(1), store, name: 'b', clock });
    await failCalls(a, 1);
    expect(b.state).toBe('closed');
  });

  it('counts calls in each breaker: failures spread over the fleet do not add up', async () => {
    const clock = manualClock();
    const [a, b] = fleet(memoryCircuitStore(), clock);
    await failCalls(a!, 2);
    await failCalls(b!, 2);
    expect(a!.state).toBe('closed');
  });

  it('lets one probe through for the whole fleet', async () => {
    const clock = manualClock();
    const [a, b] = fleet(memoryCircuitStore(), clock);
    await failCalls(a!, 3);
    await clock.advance(1_000);
    const probe = deferred();
    const call = b!.execute(() => probe.promise);
    expect(a!.state).toBe('half-open');
    let reached = false;
    expect(
      await rejection(
        a!.execute(async () => {
          reached = true;
        }),
      ),
    ).toBeInstanceOf(BrokenCircuitError);
    expect(reached).toBe(false);
    probe.resolve('ok');
    await call;
    expect([a!.state, b!.state]).toEqual(['closed', 'closed']);
    // The close cleared every breaker's counts.
    await failCalls(a!, 2);
    expect(a!.state).toBe('closed');
  });

  it('isolates and releases the whole fleet', () => {
    const clock = manualClock();
    const [a, b] = fleet(memoryCircuitStore(), clock);
    const release = a!.isolate();
    expect(b!.state).toBe('isolated');
    b!.reset();
    expect(a!.state).toBe('closed');
    release(); // ended by the reset: does nothing
    const again = b!.isolate();
    release();
    expect(a!.state).toBe('isolated');
    again();
    expect(a!.state).toBe('closed');
  });

  it('starts in the stored state', async () => {
    const clock = manualClock();
    const store = memoryCircuitStore();
    const [a] = fleet(store, clock, 1);
    await failCalls(a!, 3);
    const [late] = fleet(store, clock, 1);
    expect(late!.state).toBe('open');
    expect(late!.stats().consecutiveOpens).toBe(1);
  });

  it('never touches the store for a call that passes or a failure that does not open', async () => {
    const clock = manualClock();
    const { store, calls } = counting(memoryCircuitStore());
    const [a] = fleet(store, clock, 1);
    expect(calls).toEqual(['read']);
    await passCalls(a!, 100);
    await failCalls(a!, 2);
    expect(calls).toEqual(['read']);
    await failCalls(a!, 1);
    expect(calls).toEqual(['read', 'write open']);
  });
});

describe('circuitBreaker with a store that answers with promises', () => {
  it('opens once the store has taken the write', async () => {
    const clock = manualClock();
    const [a] = fleet(asyncStore(), clock, 1);
    await failCalls(a!, 3);
    await clock.flush();
    expect(a!.state).toBe('open');
  });

  it('waits for the store before a probe runs, and admits only one', async () => {
    const clock = manualClock();
    const [a] = fleet(asyncStore(), clock, 1);
    await failCalls(a!, 3);
    await clock.flush();
    await clock.advance(1_000);
    let probes = 0;
    const probe = deferred();
    const first = a!.execute(() => {
      probes++;
      return probe.promise;
    });
    const second = a!.execute(async () => {
      probes++;
    });
    expect(probes).toBe(0);
    expect(await rejection(second)).toBeInstanceOf(BrokenCircuitError);
    expect(probes).toBe(1);
    probe.resolve('ok');
    expect(await first).toBe('ok');
    await clock.flush();
    expect(a!.state).toBe('closed');
  });

  it('resolves a race between breakers by compare-and-set: the one that loses adopts the winner', async () => {
    const clock = manualClock();
    const inner = memoryCircuitStore();
    const [a, b] = fleet(asyncStore(inner), clock); // no watch: b learns at its next write
    await failCalls(a!, 3);
    await clock.flush();
    expect(b!.state).toBe('closed');
    await failCalls(b!, 3);
    await clock.flush();
    expect(b!.state).toBe('open');
    expect(inner.read('payments')).toMatchObject({
      state: 'open',
      version: 1,
      consecutiveOpens: 1,
    });
  });

  it('follows the writes of others through watch', async () => {
    const clock = manualClock();
    const [a, b] = fleet(asyncStore(memoryCircuitStore(), { watch: true }), clock);
    a!.isolate();
    await clock.flush();
    expect(b!.state).toBe('isolated');
  });

  it('lets a caller that aborts while its probe is being claimed give the place back', async () => {
    const clock = manualClock();
    const [a] = fleet(asyncStore(), clock, 1);
    await failCalls(a!, 3);
    await clock.flush();
    await clock.advance(1_000);
    const controller = new AbortController();
    const reason = new Error('bye');
    let reached = false;
    const call = a!.execute(
      async () => {
        reached = true;
      },
      { signal: controller.signal },
    );
    controller.abort(reason);
    expect(await rejection(call)).toBe(reason);
    await clock.flush();
    expect(reached).toBe(false);
    expect(a!.state).toBe('half-open');
    await a!.execute(ok);
    await clock.flush();
    expect(a!.state).toBe('closed');
  });
});

describe('circuitBreaker when the store fails', () => {
  function broken(kind: 'throws' | 'rejects'): CircuitStore {
    const down = new Error('store down');
    const fail = () => {
      if (kind === 'throws') throw down;
      return Promise.reject(down);
    };
    return { read: () => undefined, write: fail };
  }

  // A store that throws fails before the open is shown; one that rejects, after: the open
  // never waits for the store's answer.
  it.each([
    ['throws', ['store-error', 'open']],
    ['rejects', ['open', 'store-error']],
  ] as const)('opens on its own and reports store-error when the store %s', async (kind, order) => {
    const clock = manualClock();
    const [a] = fleet(broken(kind), clock, 1);
    const events: PolicyEvent[] = record(a!);
    await failCalls(a!, 3);
    await clock.flush();
    expect(a!.state).toBe('open');
    expect(types(events)).toEqual(order);
    expect((events.find((e) => e.type === 'store-error')!.error as Error).message).toBe(
      'store down',
    );
  });

  it('gives up after repeated conflicts, reports it, and tries again on the next failure', async () => {
    const clock = manualClock();
    let writes = 0;
    const store: CircuitStore = {
      read: () => undefined,
      write: () => {
        writes++;
        return false;
      },
    };
    const [a] = fleet(store, clock, 1);
    const events = record(a!);
    await failCalls(a!, 3);
    expect(writes).toBe(8);
    expect(a!.state).toBe('closed');
    expect(isResilienceError(events[0]!.error, 'STORE_UNAVAILABLE')).toBe(true);
    await failCalls(a!, 1);
    expect(writes).toBe(16);
  });
});

/** A networked store as the breaker sees it: async answers, echoes, outages, status reports. */
function fleetStore() {
  const inner = memoryCircuitStore();
  const statuses = new Set<CircuitStatusListener>();
  const writers: Array<string | undefined> = [];
  let down = false;
  const unavailable = new Error('server gone');
  const store: CircuitStore = {
    read: async (name) => {
      if (down) throw unavailable;
      return inner.read(name);
    },
    write: async (name, expected, next, writer) => {
      if (down) throw unavailable;
      writers.push(writer);
      return inner.write(name, expected, next, writer);
    },
    watch(name, listener, onStatus) {
      // The echo of a write comes back before the write's own answer, as pub/sub may.
      const stop = inner.watch!(name, (record, writer) => listener({ ...record }, writer));
      if (onStatus) statuses.add(onStatus);
      return stop;
    },
  };
  return {
    store,
    inner,
    writers,
    goDown() {
      down = true;
      for (const s of statuses) s({ available: false, error: unavailable });
    },
    comeBack() {
      down = false;
      for (const s of statuses) s({ available: true });
    },
    /** The server answers again, but says nothing (a store without status reports). */
    answerAgain() {
      down = false;
    },
  };
}

describe('circuitBreaker following a networked store', () => {
  it('hands each write its breaker id, which the memory store passes to watchers', async () => {
    const store = memoryCircuitStore();
    const heard: Array<string | undefined> = [];
    const listener = (_: CircuitRecord, writer?: string) => heard.push(writer);
    store.watch!('x', listener);
    store.write('x', 0, closedAt(1), 'w1');
    expect(heard).toEqual(['w1']);
    const clock = manualClock();
    const s = fleetStore();
    const [a, b] = fleet(s.store, clock);
    a!.isolate();
    b!.isolate();
    await clock.flush();
    expect(new Set(s.writers).size).toBe(2);
    expect(s.writers.every((w) => typeof w === 'string' && w.length > 0)).toBe(true);
  });

  it("does not report the echo of a breaker's own write as remote", async () => {
    const clock = manualClock();
    const { store } = fleetStore();
    const [a, b] = fleet(store, clock);
    const mine = record(a!);
    const theirs = record(b!);
    await failCalls(a!, 3);
    await clock.flush();
    expect(mine.filter((e) => e.type === 'open')).toEqual([
      expect.objectContaining({ type: 'open', remote: false }),
    ]);
    expect(theirs.filter((e) => e.type === 'open')).toEqual([
      expect.objectContaining({ type: 'open', remote: true }),
    ]);
  });

  it('reports store-error once per outage, then store-recovered when the store answers again', async () => {
    const clock = manualClock();
    const s = fleetStore();
    const [a] = fleet(s.store, clock, 1);
    await clock.flush();
    const events = record(a!);
    s.goDown(); // the store says so: store-error at once
    await clock.advance(10);
    a!.isolate(); // fails: applied alone, no second store-error
    await clock.flush();
    a!.reset();
    await clock.flush();
    expect(types(events).filter((t) => t.startsWith('store'))).toEqual(['store-error']);
    s.answerAgain();
    await clock.advance(30);
    a!.isolate(); // answered (a conflict: the store never saw the first isolate)
    await clock.flush();
    expect(types(events).filter((t) => t.startsWith('store'))).toEqual([
      'store-error',
      'store-recovered',
    ]);
    expect(events.find((e) => e.type === 'store-recovered')).toMatchObject({ downMs: 40 });
    s.goDown();
    expect(types(events).filter((t) => t.startsWith('store'))).toHaveLength(3);
  });

  it('goes on alone while the store is down, then adopts the stored state once it is back', async () => {
    const clock = manualClock();
    const s = fleetStore();
    const [a, b] = fleet(s.store, clock);
    await clock.flush();
    const events = record(a!);
    s.goDown();
    await failCalls(a!, 3);
    await clock.flush();
    expect(a!.state).toBe('open'); // alone: b never heard of it
    expect(b!.state).toBe('closed');
    expect(types(events)).toEqual(['store-error', 'open']);
    s.comeBack();
    await clock.flush();
    // The store never saw the open: its closed record wins, though a is at a higher version.
    expect(a!.state).toBe('closed');
    expect(types(events)).toEqual(['store-error', 'open', 'store-recovered', 'close']);
    expect(events.at(-1)).toMatchObject({ from: 'open', remote: true });
    await failCalls(b!, 3);
    await clock.flush();
    expect(a!.state).toBe('open');
  });

  it('keeps what it follows while the store is down, and rejoins without a write', async () => {
    const clock = manualClock();
    const s = fleetStore();
    const [a, b] = fleet(s.store, clock);
    await failCalls(a!, 3);
    await clock.flush();
    expect(b!.state).toBe('open');
    s.goDown();
    await clock.flush();
    expect(b!.state).toBe('open');
    s.inner.write('payments', 1, {
      ...(s.inner.read('payments') as CircuitRecord),
      version: 2,
      state: 'closed',
    });
    // b missed that write (its "subscription" was down); coming back, it reads it.
    s.comeBack();
    await clock.flush();
    expect(b!.state).toBe('closed');
  });
});

describe('circuitBreaker with a probe lease from the store', () => {
  const halfOpen = (leaseUntil: number | undefined): CircuitRecord => ({
    ...closedAt(3),
    state: 'half-open',
    entered: 3,
    consecutiveOpens: 1,
    lastWaitMs: 1_000,
    probes: 1,
    probeLeaseUntil: leaseUntil,
  });

  function seeded(record: CircuitRecord) {
    const inner = memoryCircuitStore();
    inner.write('payments', 0, record);
    return inner;
  }

  it('rejects calls while the probe of another breaker holds its lease', async () => {
    const clock = manualClock();
    await clock.advance(5_000);
    const [a] = fleet(seeded(halfOpen(clock.now() + 100)), clock, 1);
    expect(await rejection(a!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    await clock.advance(99);
    expect(await rejection(a!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
  });

  it('lets a call probe again once the lease ran out, in a new stretch that ignores the lost probe', async () => {
    const clock = manualClock();
    const inner = memoryCircuitStore();
    // Leases half-open records for 100 ms, as the Redis store does.
    const leasing: CircuitStore = {
      read: (name) => inner.read(name),
      write: (name, expected, next, writer) =>
        inner.write(
          name,
          expected,
          next.state === 'half-open' ? { ...next, probeLeaseUntil: clock.now() + 100 } : next,
          writer,
        ),
      watch: (name, listener) => inner.watch!(name, listener),
    };
    const [slow, a] = fleet(leasing, clock);
    await failCalls(slow!, 3);
    await clock.advance(1_000);
    const lost = deferred();
    const lostCall = slow!.execute(() => lost.promise);
    expect(a!.state).toBe('half-open');
    expect(await rejection(a!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    await clock.advance(100);
    const probe = deferred();
    const call = a!.execute(() => probe.promise);
    expect(inner.read('payments')).toMatchObject({ state: 'half-open', probes: 1, version: 3 });
    // The slow probe fails at last: its stretch is over, so it opens nothing.
    lost.reject(new Error('too late'));
    await rejection(lostCall);
    expect(inner.read('payments')).toMatchObject({ state: 'half-open', version: 3 });
    probe.resolve('ok');
    expect(await call).toBe('ok');
    expect([a!.state, slow!.state]).toEqual(['closed', 'closed']);
  });

  it('renews the lease while its slow probe runs, so no other breaker takes the probe over', async () => {
    const clock = manualClock();
    const inner = memoryCircuitStore();
    let writes = 0;
    // Leases half-open records for 300 ms from each write and says so, as the Redis store does.
    const leasing: CircuitStore = {
      probeLeaseMs: 300,
      read: (name) => inner.read(name),
      write: (name, expected, next, writer) => {
        writes++;
        return inner.write(
          name,
          expected,
          next.state === 'half-open' ? { ...next, probeLeaseUntil: clock.now() + 300 } : next,
          writer,
        );
      },
      watch: (name, listener) => inner.watch!(name, listener),
    };
    const [slow, other] = fleet(leasing, clock);
    await failCalls(slow!, 3);
    await clock.advance(1_000);
    const probe = deferred();
    const call = slow!.execute(() => probe.promise);
    const claimed = writes;
    let reached = false;
    await clock.advance(1_000);
    expect(await rejection(other!.execute(async () => (reached = true)))).toBeInstanceOf(
      BrokenCircuitError,
    );
    expect(reached).toBe(false);
    expect(writes - claimed).toBe(10); // one renewal every 100 ms
    probe.resolve('ok');
    expect(await call).toBe('ok');
    expect([slow!.state, other!.state]).toEqual(['closed', 'closed']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('never holds a lease in the records it builds: its own probes are running', async () => {
    const clock = manualClock();
    await clock.advance(5_000);
    const store = seeded({ ...halfOpen(clock.now() + 100), probes: 0 });
    const [a] = fleet(store, clock, 1);
    const probe = deferred();
    const call = a!.execute(() => probe.promise);
    expect(store.read('payments')).toMatchObject({ probes: 1, probeLeaseUntil: undefined });
    await clock.advance(1_000);
    let reached = false;
    const second = a!.execute(async () => {
      reached = true;
    });
    expect(await rejection(second)).toBeInstanceOf(BrokenCircuitError);
    expect(reached).toBe(false);
    probe.resolve('ok');
    await call;
  });

  it('starts a half-open circuit with no lease only when a probe place is free', async () => {
    const clock = manualClock();
    await clock.advance(5_000);
    const [a] = fleet(seeded(halfOpen(undefined)), clock, 1);
    await clock.advance(60_000);
    expect(await rejection(a!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
  });
});
