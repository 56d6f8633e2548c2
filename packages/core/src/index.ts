export type { Clock, TimerKind } from './clock.js';
export { realClock } from './clock.js';
export { AbortScope, CallContext, rootContext, toCallContext } from './context.js';
export { DeadlineQueue, type Expiring } from './deadline-queue.js';
export {
  BrokenCircuitError,
  BulkheadRejectedError,
  httpStatusByCode,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  isResilienceError,
  RateLimitedError,
  ResilienceError,
  type ResilienceErrorCode,
  type ResilienceErrorOptions,
  StoreUnavailableError,
  TimeoutError,
} from './errors.js';
export { EventHub } from './events.js';
export { executeRoot, isPromiseLike, raceAbort } from './execute.js';
export { type FallbackOptions, type FallbackSource, fallback } from './fallback.js';
export { notifyAll, reportLater } from './listeners.js';
export { noop } from './noop.js';
export { pipeline } from './pipeline.js';
export {
  type ComposablePolicy,
  type Context,
  EVENTS,
  type ExecuteOptions,
  type InnerTask,
  isComposable,
  isPolicy,
  type Policy,
  type PolicyEvent,
  type PolicyListener,
  RUN,
  type Task,
} from './policy.js';
export { PolicyBase } from './policy-base.js';
export { sleep } from './sleep.js';
export { describeError, StoreTimeout, withStoreTimeout } from './store-timeout.js';
export {
  atLeastOption,
  clockOption,
  functionOption,
  integerOption,
  invalidOption,
  knownOptions,
  nonNegativeOption,
  objectOption,
  oneOfOption,
  positiveOption,
  ratioOption,
} from './validate.js';
export { type ArgsOf, type WrapOptions, wrap } from './wrap.js';
