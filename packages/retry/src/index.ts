export { constant, exponential } from './backoff.js';
export { RetryBudget, type RetryBudgetStats, retryBudget } from './budget.js';
export type { Jitter, Random } from './jitter.js';
export type {
  Backoff,
  ExponentialOptions,
  RetryBudgetLike,
  RetryBudgetOptions,
  RetryOptions,
} from './options.js';
export { retry } from './retry.js';
