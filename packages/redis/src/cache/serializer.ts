/**
 * How `redisCacheStore` turns values into bytes. `deserialize` receives what Redis holds, as a
 * Buffer: `{ serialize: v8.serialize, deserialize: v8.deserialize }` works as it is.
 */
export interface CacheSerializer {
  serialize(value: unknown): string | Buffer;
  deserialize(data: Buffer): unknown;
}

// JSON.stringify drops functions and symbols without a word, so the value read back would
// differ from the one stored; refusing them (and BigInt) says so at the write.
function strict(_key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'function' || type === 'symbol' || type === 'bigint') {
    throw new TypeError(`a ${type} cannot be encoded as JSON (pass a serializer that can)`);
  }
  return value;
}

/** The default: JSON, refusing what JSON would silently lose (functions, symbols, BigInt). */
export const jsonSerializer: CacheSerializer = Object.freeze({
  serialize: (value: unknown) => JSON.stringify(value, strict),
  deserialize: (data: Buffer) => JSON.parse(data.toString('utf8')) as unknown,
});
