import { circuitBreaker, consecutiveBreaker, failureRateBreaker } from '@bulwark/circuit-breaker';
import { ConsecutiveBreaker, circuitBreaker as cockatielBreaker, handleAll } from 'cockatiel';
import CircuitBreaker from 'opossum';
import type { Suite } from '../suite.ts';

const fn = async () => 1;

const consecutive = circuitBreaker({ breaker: consecutiveBreaker(5) });
const timeWindow = circuitBreaker({
  breaker: failureRateBreaker({ window: { ms: 10_000 } }),
});
const cockatiel = cockatielBreaker(handleAll, {
  halfOpenAfter: 30_000,
  breaker: new ConsecutiveBreaker(5),
});
// timeout: false skips the 10 s timer opossum arms per call, to compare like with like.
const opossum = new CircuitBreaker(fn, { timeout: false });
const opossumDefaults = new CircuitBreaker(fn);

const suite: Suite = {
  id: 'circuit-breaker',
  title: 'Circuit breaker: what a closed circuit costs a passing call',
  about:
    'An async function that returns at once, awaited bare and through closed circuit breakers: ours with `consecutiveBreaker(5)` and with `failureRateBreaker` over a 10 s time window, cockatiel `circuitBreaker(handleAll, { breaker: new ConsecutiveBreaker(5) })`, and opossum `fire()` with `timeout: false` and with its defaults (a 10 s timer per call, latencies kept for percentiles).',
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: 'circuitBreaker(consecutiveBreaker(5))',
      kind: 'ours',
      fn: async () => await consecutive.execute(fn),
      target: { maxOverheadNs: 100 },
    },
    {
      name: 'circuitBreaker(failureRateBreaker 10 s window)',
      kind: 'ours',
      fn: async () => await timeWindow.execute(fn),
      target: { maxOverheadNs: 100 },
    },
    {
      name: 'cockatiel circuitBreaker(ConsecutiveBreaker(5))',
      kind: 'peer',
      fn: async () => await cockatiel.execute(fn),
    },
    { name: 'opossum fire() timeout: false', kind: 'peer', fn: async () => await opossum.fire() },
    { name: 'opossum fire() defaults', kind: 'peer', fn: async () => await opossumDefaults.fire() },
  ],
  teardown: () => {
    opossum.shutdown();
    opossumDefaults.shutdown();
  },
};
export default suite;
