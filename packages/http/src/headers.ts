/**
 * One function per header field: the IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers,
 * the structured-field syntax of its current drafts), Retry-After, and the names the adapters set.
 */

export const RATE_LIMIT_POLICY = 'RateLimit-Policy';
export const RATE_LIMIT = 'RateLimit';
export const RETRY_AFTER = 'Retry-After';
export const IDEMPOTENCY_KEY = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED = 'Idempotent-Replayed';
export const PROBLEM_JSON = 'application/problem+json';

/** Whole seconds, rounded up: a client that waits this long is never early. */
export function seconds(ms: number): number {
  return ms > 0 ? Math.ceil(ms / 1000) : 0;
}

/** `Retry-After: 2` for 1001 to 2000 ms. */
export function retryAfterField(ms: number): string {
  return String(seconds(ms));
}

/**
 * An RFC 8941 sf-string: `"default"`. Only printable ASCII is allowed in one; `"` and `\` are
 * escaped. Throws a RangeError for anything else, so a bad policy name fails at construction.
 */
export function sfString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new RangeError(
        `sfString: only printable ASCII may go in a structured-field string, got ${JSON.stringify(value)}`,
      );
    }
    out += c === 0x22 || c === 0x5c ? `\\${value[i]}` : value[i];
  }
  return `${out}"`;
}

/**
 * `RateLimit-Policy: "default";q=100;w=60`: the quota (`q`) a client gets per window of `w`
 * seconds. `name` is already an sf-string (see `sfString`); `w` is left out when unknown.
 */
export function rateLimitPolicyField(
  name: string,
  quota: number,
  windowSeconds: number | undefined,
): string {
  const q = Math.max(0, Math.floor(quota));
  return windowSeconds === undefined ? `${name};q=${q}` : `${name};q=${q};w=${windowSeconds}`;
}

/** `RateLimit: "default";r=42;t=17`: `r` units left now, `t` seconds until the quota is whole again. */
export function rateLimitField(name: string, remaining: number, resetMs: number): string {
  return `${name};r=${Math.max(0, Math.floor(remaining))};t=${seconds(resetMs)}`;
}
