import { httpStatusByCode, type ResilienceError, type ResilienceErrorCode } from '@bulwark/core';
import { PROBLEM_JSON, retryAfterField, seconds } from './headers.js';

/** The refusals of the middleware itself that are not a ResilienceError: a bad request. */
export type RequestProblemCode = 'IDEMPOTENCY_KEY_MISSING' | 'IDEMPOTENCY_KEY_INVALID';

export type ProblemCode = ResilienceErrorCode | RequestProblemCode;

/** An RFC 9457 problem details object, with bulwark's `code` and `retryAfterMs`. */
export interface Problem {
  /** `urn:bulwark:problem:<code in kebab case>`: stable, the primary identifier. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  /** When a retry could succeed, in ms; Retry-After carries it rounded up to seconds. */
  readonly retryAfterMs?: number;
}

const titles: Record<ProblemCode, string> = {
  TIMEOUT: 'Deadline exceeded',
  CIRCUIT_OPEN: 'Dependency unavailable',
  BULKHEAD_FULL: 'Server at capacity',
  RATE_LIMITED: 'Too many requests',
  IDEMPOTENCY_IN_PROGRESS: 'Request in progress',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused',
  STORE_UNAVAILABLE: 'State store unavailable',
  IDEMPOTENCY_KEY_MISSING: 'Idempotency key missing',
  IDEMPOTENCY_KEY_INVALID: 'Idempotency key invalid',
};

// Fixed sentences, not the error's message: a message may name internals (a Redis error, sizes).
const details: Record<ProblemCode, string> = {
  TIMEOUT: 'The request did not finish within its deadline.',
  CIRCUIT_OPEN: 'A service this request depends on is failing; calls to it are paused.',
  BULKHEAD_FULL: 'The server is handling as many requests as it can; try again shortly.',
  RATE_LIMITED: 'This client sent more requests than its rate limit allows.',
  IDEMPOTENCY_IN_PROGRESS: 'A request with this Idempotency-Key is still being processed.',
  IDEMPOTENCY_KEY_REUSED:
    'This Idempotency-Key was already used with a different request (method, path or body).',
  STORE_UNAVAILABLE: 'A store the server keeps state in did not answer.',
  IDEMPOTENCY_KEY_MISSING: 'This request requires an Idempotency-Key header.',
  IDEMPOTENCY_KEY_INVALID:
    'The Idempotency-Key header must hold 1 to 255 printable ASCII characters.',
};

const statuses: Record<ProblemCode, number> = {
  ...httpStatusByCode,
  IDEMPOTENCY_KEY_MISSING: 400,
  IDEMPOTENCY_KEY_INVALID: 400,
};

/** `urn:bulwark:problem:rate-limited` for `RATE_LIMITED`. */
export function problemType(code: ProblemCode): string {
  return `urn:bulwark:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

/** The problem of `code`; `retryAfterMs` adds a retry hint to the detail. */
export function problem(code: ProblemCode, retryAfterMs?: number): Problem {
  const base = {
    type: problemType(code),
    title: titles[code],
    status: statuses[code] ?? 500,
    code,
  };
  if (retryAfterMs === undefined) return { ...base, detail: details[code] };
  return {
    ...base,
    detail: `${details[code]} Retry in ${seconds(retryAfterMs)} s.`,
    retryAfterMs,
  };
}

/** The problem a ResilienceError maps to (status from `httpStatusByCode`). */
export function problemOf(error: ResilienceError): Problem {
  return problem(error.code, error.retryAfterMs);
}

/** The status, headers and body of a problem response; Retry-After when it has retryAfterMs. */
export interface ProblemResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function problemResponse(p: Problem): ProblemResponse {
  const headers: Record<string, string> = { 'content-type': PROBLEM_JSON };
  if (p.retryAfterMs !== undefined) headers['retry-after'] = retryAfterField(p.retryAfterMs);
  return { status: p.status, headers, body: JSON.stringify(p) };
}
