export type { Breaker, BreakerCounts } from './breaker.js';
export { type CircuitBreaker, type CircuitStats, circuitBreaker } from './circuit-breaker.js';
export { consecutiveBreaker } from './consecutive-breaker.js';
export { type FailureRateBreakerOptions, failureRateBreaker } from './failure-rate-breaker.js';
export type { HalfOpenAfter, HalfOpenBackoff } from './half-open-after.js';
export type { CircuitBreakerOptions } from './options.js';
export type { CircuitRecord, CircuitState } from './record.js';
export {
  type CircuitListener,
  type CircuitStatusListener,
  type CircuitStore,
  type CircuitStoreStatus,
  memoryCircuitStore,
} from './store.js';
