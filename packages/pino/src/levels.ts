/** A pino level, or 'silent' to drop an event type. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/**
 * Where each event type goes by default: trouble a person should look at is `warn` or `error`;
 * the resilience doing its job (a retry, a replay) is `info`; per-call noise (cache hits,
 * rate-limit refusals that happen by the thousand during an abuse wave) is `debug` or `trace`.
 */
export const defaultLevels: Readonly<Record<string, LogLevel>> = Object.freeze({
  // circuit breaker
  open: 'warn',
  'half-open': 'info',
  close: 'info',
  isolate: 'warn',
  reset: 'info',
  // retry
  retry: 'info',
  'give-up': 'warn',
  'budget-exhausted': 'warn',
  // timeout, fallback
  timeout: 'warn',
  fallback: 'info',
  // bulkhead, breaker, rate limit refusals
  rejected: 'debug',
  queued: 'trace',
  waited: 'debug',
  delayed: 'debug',
  // stores
  'store-error': 'error',
  'flush-error': 'error',
  flushed: 'debug',
  // cache
  hit: 'trace',
  miss: 'debug',
  stale: 'debug',
  refresh: 'debug',
  error: 'warn',
  // idempotency
  claimed: 'debug',
  completed: 'debug',
  released: 'debug',
  replayed: 'info',
  'in-progress': 'info',
  'lease-renewed': 'trace',
});
