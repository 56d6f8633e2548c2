/** Moved to @bulwark/core; re-exported so store authors' imports keep working. */
export { withStoreTimeout } from '@bulwark/core';
export { IdempotencyLeaseLostError } from './errors.js';
export { canonicalForm, fingerprint } from './fingerprint.js';
export {
  type IdempotencyPolicy,
  type IdempotentTask,
  idempotency,
  type RunOptions,
} from './idempotency.js';
export { MAX_KEY_LENGTH } from './key.js';
export {
  type MemoryIdempotencyStore,
  type MemoryIdempotencyStoreOptions,
  memoryIdempotencyStore,
} from './memory-store.js';
export {
  DEFAULT_LEASE_MS,
  DEFAULT_TTL_MS,
  type IdempotencyOptions,
} from './options.js';
export { jsonSerializer, type Serializer } from './serializer.js';
export type { Awaitable, ClaimResult, IdempotencyRecord, IdempotencyStore } from './store.js';
