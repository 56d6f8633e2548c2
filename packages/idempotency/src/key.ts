/** Stripe's limit; the IETF draft leaves it to the server. */
export const MAX_KEY_LENGTH = 255;

/** Throws a TypeError or RangeError naming the problem; nothing is claimed for a bad key. */
export function checkKey(where: string, key: unknown): string {
  if (typeof key !== 'string') {
    throw new TypeError(
      `${where}: the idempotency key must be a string, got ${key === null ? 'null' : typeof key}`,
    );
  }
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new RangeError(
      `${where}: the idempotency key must have 1 to ${MAX_KEY_LENGTH} characters, got ${key.length}`,
    );
  }
  return key;
}

/** A request fingerprint: what `fingerprint(payload)` returns, or any string of your own. */
export function checkFingerprint(where: string, fingerprint: unknown): string {
  if (typeof fingerprint !== 'string') {
    throw new TypeError(
      `${where}: fingerprint must be a string (e.g. fingerprint(payload)), got ${fingerprint === null ? 'null' : typeof fingerprint}`,
    );
  }
  if (fingerprint.length === 0 || fingerprint.length > 1024) {
    throw new RangeError(
      `${where}: fingerprint must have 1 to 1024 characters (e.g. fingerprint(payload)), got ${fingerprint.length}`,
    );
  }
  return fingerprint;
}
