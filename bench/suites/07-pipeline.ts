import { bulkhead } from '@bulwark/bulkhead';
import { circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import { pipeline } from '@bulwark/core';
import { retry } from '@bulwark/retry';
import { timeout } from '@bulwark/timeout';
import {
  ConsecutiveBreaker,
  bulkhead as ckBulkhead,
  circuitBreaker as ckCircuitBreaker,
  retry as ckRetry,
  timeout as ckTimeout,
  wrap as ckWrap,
  handleAll,
  TimeoutStrategy,
} from 'cockatiel';
import type { Suite } from '../suite.ts';

const fn = async () => 1;

const ours = pipeline(
  timeout({ ms: 10_000 }),
  retry({ maxAttempts: 3 }),
  circuitBreaker({ breaker: consecutiveBreaker(5), halfOpenAfterMs: 30_000 }),
  bulkhead({ maxConcurrent: 100 }),
);

// cockatiel's maxAttempts counts retries: 2 retries = 3 calls, as ours.
const theirs = ckWrap(
  ckTimeout(10_000, TimeoutStrategy.Cooperative),
  ckRetry(handleAll, { maxAttempts: 2 }),
  ckCircuitBreaker(handleAll, { halfOpenAfter: 30_000, breaker: new ConsecutiveBreaker(5) }),
  ckBulkhead(100),
);

const suite: Suite = {
  id: 'pipeline',
  title: 'Pipeline: timeout + retry + circuit breaker + bulkhead on a call that succeeds',
  about:
    'The four classic policies composed, outermost first: a 10 s timeout, 3 attempts, a breaker opening after 5 consecutive failures, 100 concurrent calls. cockatiel composes the same four with `wrap`.',
  cases: [
    { name: 'await fn()', kind: 'bare', fn: async () => await fn() },
    {
      name: 'bulwark pipeline(timeout, retry, breaker, bulkhead)',
      kind: 'ours',
      fn: async () => await ours.execute(fn),
      target: { maxOverheadNs: 400 },
    },
    {
      name: 'cockatiel wrap(timeout, retry, breaker, bulkhead)',
      kind: 'peer',
      fn: async () => await theirs.execute(fn),
    },
  ],
};
export default suite;
