const BRAND = Symbol.for('bulwark.resilience-error');

export type ResilienceErrorCode =
  | 'TIMEOUT'
  | 'CIRCUIT_OPEN'
  | 'BULKHEAD_FULL'
  | 'RATE_LIMITED'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'STORE_UNAVAILABLE';

/** The HTTP status each code maps to; the Express and Fastify adapters answer with these. */
export const httpStatusByCode: Readonly<Record<ResilienceErrorCode, number>> = Object.freeze({
  TIMEOUT: 504,
  CIRCUIT_OPEN: 503,
  BULKHEAD_FULL: 503,
  RATE_LIMITED: 429,
  IDEMPOTENCY_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  STORE_UNAVAILABLE: 503,
});

export interface ResilienceErrorOptions {
  /** When the call could succeed if tried again, in milliseconds from now. */
  retryAfterMs?: number | undefined;
  cause?: unknown;
}

/** The base of every error a bulwark policy raises; `code` is stable across versions. */
export abstract class ResilienceError extends Error {
  abstract readonly code: ResilienceErrorCode;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: ResilienceErrorOptions) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** Lets `isResilienceError` recognise errors from another copy of this package. */
  get [BRAND](): true {
    return true;
  }
}

/** True when `error` is a bulwark error (from any copy of the package), of `code` if given. */
export function isResilienceError(
  error: unknown,
  code?: ResilienceErrorCode,
): error is ResilienceError {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as { [BRAND]?: unknown })[BRAND] !== true) return false;
  return code === undefined || (error as ResilienceError).code === code;
}

export class TimeoutError extends ResilienceError {
  readonly code = 'TIMEOUT';
  constructor(
    message = 'The call did not finish before its deadline',
    options?: ResilienceErrorOptions,
  ) {
    super(message, options);
  }
}

export class BrokenCircuitError extends ResilienceError {
  readonly code = 'CIRCUIT_OPEN';
  constructor(
    message = 'The circuit is open: calls fail fast until the dependency recovers',
    options?: ResilienceErrorOptions,
  ) {
    super(message, options);
  }
}

export class BulkheadRejectedError extends ResilienceError {
  readonly code = 'BULKHEAD_FULL';
  constructor(
    message = 'The bulkhead is full: too many calls are running and queued',
    options?: ResilienceErrorOptions,
  ) {
    super(message, options);
  }
}

export class RateLimitedError extends ResilienceError {
  readonly code = 'RATE_LIMITED';
  constructor(message = 'Rate limit exceeded', options?: ResilienceErrorOptions) {
    super(message, options);
  }
}

export class IdempotencyInProgressError extends ResilienceError {
  readonly code = 'IDEMPOTENCY_IN_PROGRESS';
  constructor(
    message = 'A request with this idempotency key is still being processed',
    options?: ResilienceErrorOptions,
  ) {
    super(message, options);
  }
}

export class IdempotencyKeyReusedError extends ResilienceError {
  readonly code = 'IDEMPOTENCY_KEY_REUSED';
  constructor(
    message = 'This idempotency key was already used with a different request payload',
    options?: ResilienceErrorOptions,
  ) {
    super(message, options);
  }
}

export class StoreUnavailableError extends ResilienceError {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message = 'The state store did not answer', options?: ResilienceErrorOptions) {
    super(message, options);
  }
}
