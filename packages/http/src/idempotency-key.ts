import { createHash } from 'node:crypto';
import { MAX_KEY_LENGTH } from '@bulwark/idempotency';

export { MAX_KEY_LENGTH };

/** Why an Idempotency-Key header was refused. */
export type IdempotencyKeyProblem = 'empty' | 'too-long' | 'invalid';

/** What the header held: a key, nothing, or a reason to answer 400. */
export type ParsedIdempotencyKey =
  | { readonly key: string; readonly problem?: undefined }
  | { readonly key?: undefined; readonly problem: IdempotencyKeyProblem };

function unquote(value: string): string | undefined {
  let out = '';
  for (let i = 1; i < value.length - 1; i++) {
    const c = value[i]!;
    if (c === '\\') {
      const next = value[++i];
      if (next !== '"' && next !== '\\') return undefined;
      out += next;
    } else if (c === '"') {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Reads an `Idempotency-Key` header. The IETF draft makes it an sf-string (`"8e03978e-..."`);
 * most clients (Stripe's among them) send the bare key, so both are accepted and mean the same
 * key. A key has 1 to 255 printable ASCII characters. Undefined when there is no header.
 */
export function parseIdempotencyKey(
  header: string | readonly string[] | undefined,
): ParsedIdempotencyKey | undefined {
  if (header === undefined) return undefined;
  // A header sent twice: two keys for one request is no key at all.
  if (typeof header !== 'string') {
    return header.length === 1 ? parseIdempotencyKey(header[0]) : { problem: 'invalid' };
  }
  let key: string | undefined = header.trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) {
    key = unquote(key);
    if (key === undefined) return { problem: 'invalid' };
  }
  if (key.length === 0) return { problem: 'empty' };
  if (key.length > MAX_KEY_LENGTH) return { problem: 'too-long' };
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return { problem: 'invalid' };
  }
  return { key };
}

/**
 * The key a request's record is stored under. With a scope (a user, a tenant) the scope is part
 * of it, so one client's key can never reach another's record: `scope:key`, the scope
 * percent-encoded so that its own `:` cannot forge a boundary. When that would pass the store's
 * 255 characters, `#` and a SHA-256 of both (no encoded scope starts with `#`).
 */
export function scopedKey(scope: string | undefined, key: string): string {
  if (scope === undefined) return key;
  const readable = `${encodeURIComponent(scope)}:${key}`;
  if (readable.length <= MAX_KEY_LENGTH) return readable;
  return `#${createHash('sha256').update(`${scope.length}:${scope}:${key}`).digest('hex')}`;
}
