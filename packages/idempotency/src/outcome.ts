import type { Serializer } from './serializer.js';

/**
 * What the store keeps for a finished key: `v` + the serialized value, or `e` + a JSON copy of
 * the error. One opaque string, so stores need not know the difference.
 */
export function encodeValue(serializer: Serializer, value: unknown): string {
  const text = serializer.serialize(value);
  if (typeof text !== 'string') {
    throw new TypeError(`the serializer returned a ${typeof text}, not a string`);
  }
  return `v${text}`;
}

interface ErrorCopy {
  name: string;
  message: string;
  props: Record<string, string | number | boolean | null>;
}

/** name, message, and the own properties that are plain data (`code`, `status`, `type`...). */
export function encodeError(error: unknown): string {
  const copy: ErrorCopy = { name: 'Error', message: String(error), props: {} };
  if (typeof error === 'object' && error !== null) {
    const e = error as Record<string, unknown>;
    copy.name = typeof e.name === 'string' ? e.name : 'Error';
    copy.message = typeof e.message === 'string' ? e.message : '';
    for (const key of Object.keys(e)) {
      const v = e[key];
      if (key === 'name' || key === 'message' || key === 'stack') continue;
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) {
        copy.props[key] = v as string | number | boolean | null;
      }
    }
    // ResilienceError and friends define code on the instance; others may have it on the prototype.
    if (!('code' in copy.props) && ['string', 'number'].includes(typeof e.code)) {
      copy.props.code = e.code as string | number;
    }
  }
  return `e${JSON.stringify(copy)}`;
}

/** A fresh Error each time, so no caller can change what another one sees. */
function decodeError(text: string): Error {
  const copy = JSON.parse(text) as ErrorCopy;
  const error = new Error(copy.message);
  Object.defineProperty(error, 'name', {
    value: copy.name,
    writable: true,
    configurable: true,
    enumerable: false,
  });
  Object.assign(error, copy.props);
  return error;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: Error };

export function decodeOutcome(serializer: Serializer, stored: string): Outcome {
  const body = stored.slice(1);
  if (stored.startsWith('v')) return { ok: true, value: serializer.deserialize(body) };
  if (stored.startsWith('e')) return { ok: false, error: decodeError(body) };
  throw new TypeError(
    `idempotency: the stored result is not one this package wrote: ${stored.slice(0, 40)}`,
  );
}
