export { type DeadlineOptions, type DeadlineProtection, deadline } from './deadline.js';
export type { Protection, RequestHook, SendHook } from './hooks.js';
export {
  type IdempotencyOptions,
  type IdempotencyProtection,
  idempotency,
} from './idempotency.js';
export {
  type LoadSheddingOptions,
  type LoadSheddingProtection,
  loadShedding,
} from './load-shedding.js';
export {
  type BulwarkPluginOptions,
  type BulwarkRouteOptions,
  bulwark,
  bulwark as default,
} from './plugin.js';
export { type RateLimitOptions, type RateLimitProtection, rateLimit } from './rate-limit.js';
export { sendProblem, sendStoredResponse } from './reply.js';
