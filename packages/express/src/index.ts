export { type DeadlineMiddleware, type DeadlineOptions, deadline } from './deadline.js';
export { errorHandler } from './error-handler.js';
export { type IdempotencyMiddleware, type IdempotencyOptions, idempotency } from './idempotency.js';
export {
  type LoadSheddingMiddleware,
  type LoadSheddingOptions,
  loadShedding,
} from './load-shedding.js';
export { type RateLimitMiddleware, type RateLimitOptions, rateLimit } from './rate-limit.js';
