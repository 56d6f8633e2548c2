import type { ServerResponse } from 'node:http';
import { IDEMPOTENT_REPLAYED } from './headers.js';
import { type Problem, problemResponse } from './problem.js';
import { type StoredResponse, storedBody } from './stored-response.js';

/**
 * Writers for a plain `node:http` ServerResponse: what Express's `res` is, and what any other
 * framework built on node:http can hand over.
 */

/** Answers with an `application/problem+json` body (and Retry-After when it has retryAfterMs). */
export function sendProblem(res: ServerResponse, p: Problem): void {
  const { status, headers, body } = problemResponse(p);
  res.statusCode = status;
  for (const name in headers) res.setHeader(name, headers[name]!);
  res.end(body);
}

/**
 * Replays a stored response with `Idempotent-Replayed: true`. A header this request's own
 * middleware already set (fresh RateLimit fields, a request id) wins over the stored one.
 */
export function sendStoredResponse(res: ServerResponse, stored: StoredResponse): void {
  res.statusCode = stored.status;
  for (const [name, value] of stored.headers) {
    if (!res.hasHeader(name)) res.setHeader(name, value);
  }
  res.setHeader(IDEMPOTENT_REPLAYED, 'true');
  res.end(storedBody(stored));
}

/**
 * Runs `callback` once when the response is over: sent in full, or its connection closed first.
 * `'close'` comes last in both cases (after `'finish'` for a response sent in full).
 */
export function onResponseClose(res: ServerResponse, callback: () => void): void {
  res.once('close', callback);
}

/** True when the response closed before it was sent in full: the client went away. */
export function closedEarly(res: ServerResponse): boolean {
  return !res.writableFinished;
}
