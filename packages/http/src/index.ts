export {
  clientKey,
  DEFAULT_IPV6_SUBNET,
  ipv6Prefix,
  parseIPv4,
  parseIPv6,
  UNKNOWN_CLIENT,
} from './client-key.js';
export { clientGone, RequestDeadlines, RequestSignal } from './deadline.js';
export { requestFingerprint } from './fingerprint.js';
export {
  IDEMPOTENCY_KEY,
  IDEMPOTENT_REPLAYED,
  PROBLEM_JSON,
  RATE_LIMIT,
  RATE_LIMIT_POLICY,
  RETRY_AFTER,
  rateLimitField,
  rateLimitPolicyField,
  retryAfterField,
  seconds,
  sfString,
} from './headers.js';
export { HttpIdempotency, type IdempotencyStart, IdempotentExchange } from './idempotency.js';
export {
  type IdempotencyKeyProblem,
  MAX_KEY_LENGTH,
  type ParsedIdempotencyKey,
  parseIdempotencyKey,
  scopedKey,
} from './idempotency-key.js';
export { type Admission, LoadShedder } from './load-shedding.js';
export { closedEarly, onResponseClose, sendProblem, sendStoredResponse } from './node-response.js';
export {
  type Awaitable,
  DEFAULT_METHODS,
  type DeadlineOptions,
  type HttpIdempotencyOptions,
  type HttpRateLimitOptions,
  type LoadSheddingOptions,
} from './options.js';
export {
  type Problem,
  type ProblemCode,
  type ProblemResponse,
  problem,
  problemOf,
  problemResponse,
  problemType,
  type RequestProblemCode,
} from './problem.js';
export { HttpRateLimit } from './rate-limit.js';
export {
  isReplayedHeader,
  isStoredResponse,
  type ResponseHeaders,
  type StoredResponse,
  storedBody,
  storedResponse,
} from './stored-response.js';
