/** How a result becomes the text the store keeps, and back. */
export interface Serializer {
  /** Throws when the value cannot be stored faithfully. */
  serialize(value: unknown): string;
  deserialize(text: string): unknown;
}

function refuse(_key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'function' || type === 'symbol') {
    throw new TypeError(`a ${type} cannot be stored`);
  }
  if (type === 'bigint') {
    throw new TypeError('a BigInt cannot be stored as JSON; pass a serializer that supports it');
  }
  return value;
}

/**
 * JSON, strictly: functions, symbols, BigInt and cycles are refused rather than silently dropped.
 * `undefined` as the whole result round-trips (a function that returns nothing); Dates come back
 * as ISO strings and class instances as plain objects, as JSON does.
 */
export const jsonSerializer: Serializer = Object.freeze({
  serialize(value: unknown): string {
    if (value === undefined) return '';
    // Only objects can hide a function or a BigInt; a replacer costs a call per value.
    if (typeof value !== 'object' || value === null) refuse('', value);
    else return JSON.stringify(value, refuse);
    return JSON.stringify(value);
  },
  deserialize(text: string): unknown {
    return text === '' ? undefined : JSON.parse(text);
  },
});
