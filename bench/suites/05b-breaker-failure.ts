import { EventEmitter } from 'node:events';
import { circuitBreaker, failureRateBreaker } from '@bulwark/circuit-breaker';
import CircuitBreaker from 'opossum';
import type { Suite } from '../suite.ts';

const CALLS_IN_WINDOW = 200_000;
// Made once: a fresh Error per call would cost more than the breakers being compared.
const outage = new Error('dependency down');
const call = async (ok: boolean) => {
  if (!ok) throw outage;
  return 1;
};
const fail = () => call(false);

// Threshold 1 and a minimum no window reaches: the circuit stays closed, so every call reaches
// fn and fails, and the window keeps counting.
const ours = circuitBreaker({
  breaker: failureRateBreaker({
    threshold: 1,
    minimumCalls: Number.MAX_SAFE_INTEGER,
    window: { ms: 10_000 },
  }),
});
// Buckets rotate only when told: the 200k calls stay in opossum's 10 s window however long the
// run takes. Snapshots off: their 1 s timer would sort the window in the background of every case.
const rotate = new EventEmitter();
const opossum = new CircuitBreaker(call, {
  timeout: false,
  rotateBucketController: rotate,
  enableSnapshots: false,
});

const suite: Suite = {
  id: 'breaker-failure',
  title: 'Circuit breaker: a failing call with 200k calls in the window',
  about:
    'A call that rejects, awaited in try/catch, bare and through time-window breakers (10 s window) that already hold 200k calls and stay closed, so every call reaches fn and fails: ours (`failureRateBreaker({ threshold: 1, window: { ms: 10_000 } })`, bucket counters) and opossum `fire()` with `timeout: false` (it sorts every latency in its window on each failure).',
  setup: async () => {
    for (let i = 0; i < CALLS_IN_WINDOW; i++) {
      await ours.execute(() => call(true));
      await opossum.fire(true);
    }
  },
  cases: [
    {
      name: 'await fail() (rejects)',
      kind: 'bare',
      fn: async () => {
        try {
          await fail();
        } catch {}
      },
    },
    {
      name: 'circuitBreaker(failureRateBreaker 10 s) failing',
      kind: 'ours',
      fn: async () => {
        try {
          await ours.execute(fail);
        } catch {}
      },
      target: { maxOverheadNs: 300 },
    },
    {
      name: 'opossum fire() failing, 200k calls in window',
      kind: 'peer',
      fn: async () => {
        try {
          await opossum.fire(false);
        } catch {}
      },
    },
  ],
  teardown: () => {
    opossum.shutdown();
  },
};
export default suite;
