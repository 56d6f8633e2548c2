import * as crypto from 'node:crypto';

/** Where the encoder is, to name the path of a value it refuses. */
interface Walk {
  /** Property names and array indexes from the root: built into a string only on error. */
  path: Array<string | number>;
  /** The objects being encoded, to tell a cycle from an object referenced twice. */
  ancestors: object[];
}

function refuse(walk: Walk, what: string): never {
  let at = '$';
  for (const step of walk.path) at += typeof step === 'number' ? `[${step}]` : `.${step}`;
  throw new TypeError(`fingerprint: ${what.replace('%', at)}`);
}

/**
 * A tag before every value keeps types apart (`"1"` is not `1`, `null` is not `"null"`); strings
 * and keys are JSON-quoted so no value can forge a separator.
 */
function encode(value: unknown, walk: Walk): string {
  switch (typeof value) {
    case 'string':
      return `s${JSON.stringify(value)}`;
    case 'number':
      // -0 and 0 are one number to a client that sent JSON.
      return value === 0 ? 'd0' : `d${value}`;
    case 'boolean':
      return value ? 't' : 'f';
    case 'bigint':
      return `b${value}`;
    case 'undefined':
      return 'u';
    case 'function':
    case 'symbol':
      return refuse(walk, `cannot fingerprint a ${typeof value} at %`);
  }
  if (value === null) return 'n';
  return encodeObject(value as object, walk);
}

function encodeObject(value: object, walk: Walk): string {
  if (walk.ancestors.includes(value)) refuse(walk, 'the value has a cycle at %');
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) refuse(walk, 'invalid Date at %');
    return `D${value.toISOString()}`;
  }
  if (ArrayBuffer.isView(value)) {
    return `B${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
  }
  if (value instanceof Map || value instanceof Set || value instanceof WeakMap) {
    refuse(
      walk,
      `cannot fingerprint a ${value.constructor.name} at %; convert it to an object or an array`,
    );
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return encode(toJSON.call(value), walk);
  const { path, ancestors } = walk;
  ancestors.push(value);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      out += i === 0 ? encode(value[i], walk) : `,${encode(value[i], walk)}`;
      path.pop();
    }
    out += ']';
  } else {
    out = '{';
    let first = true;
    for (const key of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[key];
      // As in JSON, a property set to undefined is a property left out.
      if (field === undefined) continue;
      path.push(key);
      out += `${first ? '' : ','}${JSON.stringify(key)}:${encode(field, walk)}`;
      path.pop();
      first = false;
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}

/**
 * The canonical text `fingerprint` hashes: object keys sorted at every depth, arrays in order,
 * every value tagged with its type.
 */
export function canonicalForm(value: unknown): string {
  return encode(value, { path: [], ancestors: [] });
}

// crypto.hash (Node 20.12+) is a one-shot digest, twice as fast as createHash for short input.
const sha256: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * A SHA-256 (hex) of the canonical form of `value`: `{ a, b }` and `{ b, a }` match, `"1"` and
 * `1` do not. Handles strings, numbers, booleans, null, undefined, BigInt, Dates, typed arrays and
 * Buffers, arrays, plain objects and objects with `toJSON`; throws a TypeError for functions,
 * symbols, Maps, Sets, invalid Dates and cycles.
 */
export function fingerprint(value: unknown): string {
  return sha256(canonicalForm(value));
}
