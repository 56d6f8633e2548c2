import { isUtf8 } from 'node:buffer';

/** A response as an idempotency record keeps it, to replay to a repeat of the request. */
export interface StoredResponse {
  readonly status: number;
  /** Lower-case names; never Set-Cookie, hop-by-hop fields, Content-Length or Date. */
  readonly headers: ReadonlyArray<readonly [string, string | readonly string[]]>;
  readonly body: string;
  /** `utf8` when the body is text (readable in the store), else `base64`. */
  readonly bodyEncoding: 'utf8' | 'base64';
}

/**
 * Fields a replay leaves out: cookies (a session must never be handed to whoever holds the key),
 * the hop-by-hop fields of RFC 9110 §7.6.1 (they describe the first response's connection),
 * Content-Length (recomputed from the body) and Date (the replay is a new message).
 */
const NOT_REPLAYED = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
  'date',
]);

/** True when a response header of this (lower-case) name is replayed. */
export function isReplayedHeader(name: string): boolean {
  return !NOT_REPLAYED.has(name) && !name.startsWith('proxy-');
}

/** The field names a `Connection` header lists: hop-by-hop too (RFC 9110 §7.6.1). */
function connectionOptions(value: unknown): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return new Set(text.split(',').map((token) => token.trim().toLowerCase()));
}

/** Response headers as frameworks hand them over (`res.getHeaders()`, `reply.getHeaders()`). */
export type ResponseHeaders = Readonly<
  Record<string, string | number | readonly string[] | undefined>
>;

/** A response as it is stored: the headers a replay may repeat, and the body as text. */
export function storedResponse(
  status: number,
  headers: ResponseHeaders,
  body: Buffer | string,
): StoredResponse {
  const listed = connectionOptions(headers.connection);
  const kept: Array<readonly [string, string | readonly string[]]> = [];
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    const value = headers[name];
    if (value === undefined || !isReplayedHeader(lower) || listed?.has(lower)) continue;
    kept.push([lower, Array.isArray(value) ? value.map(String) : String(value)]);
  }
  if (typeof body === 'string') return { status, headers: kept, body, bodyEncoding: 'utf8' };
  return isUtf8(body)
    ? { status, headers: kept, body: body.toString('utf8'), bodyEncoding: 'utf8' }
    : { status, headers: kept, body: body.toString('base64'), bodyEncoding: 'base64' };
}

/** The body of a stored response, as bytes. */
export function storedBody(response: StoredResponse): Buffer {
  return Buffer.from(response.body, response.bodyEncoding);
}

function isHeaderValue(value: unknown): boolean {
  return (
    typeof value === 'string' ||
    (Array.isArray(value) && value.every((item) => typeof item === 'string'))
  );
}

/** Checks that a value read back from a store is a response this package stored. */
export function isStoredResponse(value: unknown): value is StoredResponse {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    Number.isInteger(r.status) &&
    (r.status as number) >= 100 &&
    (r.status as number) <= 999 &&
    typeof r.body === 'string' &&
    (r.bodyEncoding === 'utf8' || r.bodyEncoding === 'base64') &&
    Array.isArray(r.headers) &&
    r.headers.every(
      (h: unknown) =>
        Array.isArray(h) && h.length === 2 && typeof h[0] === 'string' && isHeaderValue(h[1]),
    )
  );
}
