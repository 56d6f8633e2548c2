import { describeDeadline } from './deadline.js';
import { describeErrorHandler } from './error-handler.js';
import { type Harness, memoryStores, type SuiteStores } from './harness.js';
import { describeIdempotency } from './idempotency.js';
import { describeLoadShedding } from './load-shedding.js';
import { describeRateLimit } from './rate-limit.js';

export * from './harness.js';
export { hasIPv6Loopback } from './rate-limit.js';

/** Every behaviour of the four middlewares and the error handler, over real HTTP. */
export function describeConformance(harness: Harness, stores: SuiteStores = memoryStores): void {
  describeRateLimit(harness, stores);
  describeIdempotency(harness, stores);
  describeLoadShedding(harness);
  describeDeadline(harness);
  describeErrorHandler(harness);
}

/** Only the behaviours that depend on a store: for runs on shared stores (Redis). */
export function describeStoreConformance(harness: Harness, stores: SuiteStores): void {
  describeRateLimit(harness, stores);
  describeIdempotency(harness, stores);
}
