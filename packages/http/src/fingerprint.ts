import { fingerprint } from '@bulwark/idempotency';

/**
 * The fingerprint of a request: its method, its target (path and query string) and its parsed
 * body, in the canonical form of `@bulwark/idempotency`'s `fingerprint` (object key order does
 * not matter, types do). A key sent again with any of the three changed is a reuse: 422.
 */
export function requestFingerprint(method: string, url: string, body: unknown): string {
  return fingerprint([method.toUpperCase(), url, body]);
}
