import {
  type CircuitRecord,
  type CircuitStatusListener,
  type CircuitStore,
  circuitBreaker,
  consecutiveBreaker,
  memoryCircuitStore,
} from '@bulwark/circuit-breaker';
import { BrokenCircuitError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fail, failCalls, ok, outage, record, rejection, types } from './helpers.js';

/**
 * A networked store whose writes land only when the test says so (`land()`, oldest first), as a
 * slow Redis answers; reads answer at once. `never: true`: writes never answer at all.
 */
function slowStore(options: { never?: boolean } = {}) {
  const inner = memoryCircuitStore();
  const waiting: Array<() => void> = [];
  const store: CircuitStore = {
    read: async (name) => inner.read(name),
    write: (name, expected, next, writer) =>
      new Promise<boolean>((resolve) => {
        if (!options.never) waiting.push(() => resolve(inner.write(name, expected, next, writer)));
      }),
  };
  return {
    store,
    inner,
    get waiting() {
      return waiting.length;
    },
    /** Lets the oldest write reach the store, and its answer the breaker. */
    async land() {
      waiting.shift()!();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
}

function breakerOn(store: CircuitStore, clock = manualClock()) {
  return circuitBreaker({
    breaker: consecutiveBreaker(3),
    halfOpenAfterMs: 1_000,
    store,
    name: 'payments',
    clock,
  });
}

/** Another breaker's records, written straight into the store. */
const theirs = (fields: Partial<CircuitRecord>): CircuitRecord => ({
  state: 'open',
  version: 1,
  entered: 1,
  since: 0,
  consecutiveOpens: 1,
  halfOpenAt: 1_000,
  lastWaitMs: 1_000,
  probes: 0,
  successes: 0,
  isolations: 0,
  ...fields,
});

describe('a breaker on a store that answers late', () => {
  it('opens on the failure that trips it, before the store answers, and the write lands after', async () => {
    const s = slowStore();
    const breaker = breakerOn(s.store);
    await Promise.resolve(); // the first read
    const events = record(breaker);
    let reached = 0;
    const failing = async () => {
      reached++;
      throw outage;
    };
    const states: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      await breaker.execute(failing).catch(() => {});
      if (i < 4) states.push(breaker.state);
    }
    expect(reached).toBe(3);
    expect(states).toEqual(['closed', 'closed', 'open', 'open']);
    expect(s.inner.read('payments')).toBeUndefined(); // nothing has reached the store yet
    expect(s.waiting).toBe(1);
    await s.land();
    expect(s.inner.read('payments')).toMatchObject({ state: 'open', version: 1 });
    expect(breaker.state).toBe('open');
    expect(types(events).filter((t) => t !== 'rejected')).toEqual(['open']);
    expect(events[0]).toMatchObject({ type: 'open', remote: false });
  });

  it('adopts the open another breaker stored first, and does not write its own over it', async () => {
    const s = slowStore();
    const clock = manualClock();
    const breaker = breakerOn(s.store, clock);
    await Promise.resolve();
    const events = record(breaker);
    await failCalls(breaker, 3);
    expect(breaker.state).toBe('open');
    s.inner.write('payments', 0, theirs({ consecutiveOpens: 4, halfOpenAt: 8_000 }), 'other');
    await s.land(); // refused: version 1 is taken
    expect(s.inner.read('payments')).toMatchObject({ consecutiveOpens: 4 });
    expect(breaker.state).toBe('open');
    expect(breaker.stats().consecutiveOpens).toBe(4);
    expect(s.waiting).toBe(0);
    // Their wait holds here: no probe at this breaker's own 1 s.
    await clock.advance(1_000);
    expect(await rejection(breaker.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    expect(types(events).filter((t) => t === 'open')).toEqual(['open']);
  });

  it('gives up an open counted in a closed stretch that has since ended elsewhere, and counts afresh', async () => {
    const s = slowStore();
    const breaker = breakerOn(s.store);
    await Promise.resolve();
    const events = record(breaker);
    await failCalls(breaker, 3);
    // Meanwhile another breaker opened, probed and closed the circuit: a later closed stretch.
    s.inner.write('payments', 0, theirs({}), 'other');
    s.inner.write('payments', 1, theirs({ state: 'closed', version: 2, entered: 2 }), 'other');
    await s.land();
    expect(breaker.state).toBe('closed');
    expect(events.at(-1)).toMatchObject({ type: 'close', from: 'open', remote: true });
    expect(s.inner.read('payments')).toMatchObject({ state: 'closed', version: 2 });
    // The failures counted before the close count no more: three new ones open it.
    await failCalls(breaker, 2);
    expect(breaker.state).toBe('closed');
    await failCalls(breaker, 1);
    expect(breaker.state).toBe('open');
    await s.land();
    expect(s.inner.read('payments')).toMatchObject({ state: 'open', version: 3 });
  });

  it("adopts another breaker's half-open stretch: its probe runs, this breaker's calls wait", async () => {
    const s = slowStore();
    const breaker = breakerOn(s.store);
    await Promise.resolve();
    await failCalls(breaker, 3);
    s.inner.write('payments', 0, theirs({}), 'other');
    s.inner.write('payments', 1, theirs({ state: 'half-open', version: 2, entered: 2, probes: 1 }));
    await s.land();
    expect(breaker.state).toBe('half-open');
    let reached = false;
    const call = breaker.execute(async () => {
      reached = true;
    });
    expect(await rejection(call)).toBeInstanceOf(BrokenCircuitError);
    expect(reached).toBe(false);
    expect(s.inner.read('payments')).toMatchObject({ state: 'half-open', version: 2 });
    expect(s.waiting).toBe(0);
  });

  it('isolates again on top of a record another breaker stored first', async () => {
    const s = slowStore();
    const breaker = breakerOn(s.store);
    await Promise.resolve();
    breaker.isolate();
    expect(breaker.state).toBe('isolated');
    s.inner.write('payments', 0, theirs({}), 'other');
    await s.land(); // refused, read, written again on version 1
    expect(breaker.state).toBe('isolated');
    await s.land();
    expect(s.inner.read('payments')).toMatchObject({ state: 'isolated', version: 2 });
  });

  it('takes decisions made while a write is on its way at once, and writes them in order', async () => {
    const s = slowStore();
    const breaker = breakerOn(s.store);
    await Promise.resolve();
    await failCalls(breaker, 3);
    const release = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    release();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(ok)).toBe('ok');
    await s.land();
    expect(s.inner.read('payments')).toMatchObject({ state: 'open', version: 1 });
    expect(breaker.state).toBe('closed');
    await s.land();
    await s.land();
    expect(s.inner.read('payments')).toMatchObject({ state: 'closed', version: 3 });
    expect(s.waiting).toBe(0);
  });

  it('isolates and resets at once on a store that never answers', async () => {
    const s = slowStore({ never: true });
    const breaker = breakerOn(s.store);
    await Promise.resolve();
    const release = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    let reached = false;
    const call = breaker.execute(async () => {
      reached = true;
    });
    expect(await rejection(call)).toBeInstanceOf(BrokenCircuitError);
    expect(reached).toBe(false);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(ok)).toBe('ok');
    release(); // ended by the reset
    expect(breaker.state).toBe('closed');
    await failCalls(breaker, 3);
    expect(breaker.state).toBe('open');
  });

  it('waits for the store before a probe runs: the claim is the one decision that does', async () => {
    const s = slowStore();
    const clock = manualClock();
    const breaker = breakerOn(s.store, clock);
    await Promise.resolve();
    await failCalls(breaker, 3);
    await s.land();
    await clock.advance(1_000);
    let probes = 0;
    const probe = breaker.execute(async () => {
      probes++;
      return 'probed';
    });
    const second = breaker.execute(async () => {
      probes++;
    });
    await clock.flush();
    expect(probes).toBe(0);
    expect(breaker.state).toBe('open'); // half-open only once the store has taken the claim
    expect(s.waiting).toBe(1);
    await s.land();
    expect(probes).toBe(1);
    expect(await probe).toBe('probed');
    expect(await rejection(second)).toBeInstanceOf(BrokenCircuitError);
    expect(breaker.state).toBe('closed'); // the probe's success, at once
    await s.land();
    expect(s.inner.read('payments')).toMatchObject({ state: 'closed', version: 3 });
  });

  it('fails fast on a failing probe at once too, before the store has its re-open', async () => {
    const s = slowStore();
    const clock = manualClock();
    const breaker = breakerOn(s.store, clock);
    await Promise.resolve();
    await failCalls(breaker, 3);
    await s.land();
    await clock.advance(1_000);
    const probe = breaker.execute(fail);
    await s.land();
    expect(await rejection(probe)).toBe(outage);
    expect(breaker.state).toBe('open');
    expect(breaker.stats().consecutiveOpens).toBe(2);
    expect(s.waiting).toBe(1);
  });
});

type Op =
  | { who: 0 | 1; op: 'fail' | 'ok' | 'isolate' | 'release' | 'reset' }
  | { who: 0 | 1; op: 'advance'; ms: number };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({
      who: fc.constantFrom(0 as const, 1 as const),
      op: fc.constantFrom('fail' as const, 'fail' as const, 'ok' as const),
    }),
    fc.record({
      who: fc.constantFrom(0 as const, 1 as const),
      op: fc.constantFrom('isolate' as const, 'release' as const, 'reset' as const),
    }),
    fc.record({
      who: fc.constant(0 as const),
      op: fc.constant('advance' as const),
      ms: fc.constantFrom(0, 1, 5, 20, 600),
    }),
  ),
  { maxLength: 40 },
);

describe('two breakers on a store that answers after random delays', () => {
  it('never lets an isolated breaker reach fn, and both end on the stored record, outages or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        ops,
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 8 }),
        // Which answers fail: the store is away for that one, and says so.
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        async (steps, delays, failingAnswers) => {
          let failing = failingAnswers;
          const clock = manualClock();
          const inner = memoryCircuitStore();
          const statuses: CircuitStatusListener[] = [];
          let n = 0;
          const later = <T>(answer: () => T) =>
            new Promise<T>((resolve, reject) => {
              const i = n++;
              clock.setTimer(
                () => {
                  if (!failing[i % failing.length]) return resolve(answer());
                  for (const status of statuses) status({ available: false, error: outage });
                  reject(new Error('store away'));
                },
                delays[i % delays.length]!,
              );
            });
          const store: CircuitStore = {
            read: (name) => later(() => inner.read(name) as CircuitRecord | undefined),
            write: (name, expected, next, writer) =>
              later(() => inner.write(name, expected, next, writer) as boolean),
            watch: (name, listener, onStatus) => {
              if (onStatus) statuses.push(onStatus);
              return inner.watch!(name, (r, writer) => queueMicrotask(() => listener(r, writer)));
            },
          };
          const breakers = [0, 1].map(() =>
            circuitBreaker({
              breaker: consecutiveBreaker(2),
              halfOpenAfterMs: 500,
              store,
              name: 'c',
              clock,
            }),
          );
          const releases: Array<Array<() => void>> = [[], []];
          const calls: Array<Promise<unknown>> = [];
          let violations = 0;
          for (const step of steps) {
            const b = breakers[step.who]!;
            switch (step.op) {
              case 'fail':
              case 'ok': {
                const isolated = b.state === 'isolated';
                const fn = async () => {
                  if (isolated) violations++;
                  if (step.op === 'fail') throw outage;
                  return 'ok';
                };
                calls.push(b.execute(fn).catch(() => {}));
                break;
              }
              case 'isolate':
                releases[step.who]!.push(b.isolate());
                break;
              case 'release':
                releases[step.who]!.shift()?.();
                break;
              case 'reset':
                b.reset();
                break;
              case 'advance':
                await clock.advance(step.ms);
                break;
            }
          }
          for (let i = 0; i < 20; i++) await clock.advance(1_000);
          await Promise.all(calls);
          // The store is back for good and says so: each breaker reads the stored record.
          failing = [false];
          for (const status of statuses) status({ available: true });
          for (let i = 0; i < 5; i++) await clock.advance(1_000);
          expect(violations).toBe(0);
          const stored = inner.read('c') as CircuitRecord | undefined;
          for (const b of breakers) {
            expect(b.state).toBe(stored?.state ?? 'closed');
            expect(b.stats().consecutiveOpens).toBe(stored?.consecutiveOpens ?? 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
