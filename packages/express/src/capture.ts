import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { IdempotentExchange } from '@bulwark/http';

type Callback = (error?: Error | null) => void;
type Chunk = string | Uint8Array;

/** Responses the handler has started writing while they were held back. */
const started = new WeakSet<ServerResponse>();

/**
 * True when the response has started: its headers went out, or the handler began writing one
 * that is held back. Then nobody else (a deadline's 504, the error handler) may answer instead.
 */
export function responseStarted(res: ServerResponse): boolean {
  return res.headersSent || started.has(res);
}

/**
 * Holds back a response while the handler writes it: `writeHead`, `write` and `end` of this
 * response collect the status, headers and body instead of sending them. When the handler ends
 * the response, the exchange stores it, and only then is it sent for real, so a repeat of the
 * request can never arrive before the record exists. Afterwards the methods pass straight
 * through (they stay in place: a middleware may have wrapped them in turn).
 */
export function captureResponse(res: ServerResponse, exchange: IdempotentExchange): void {
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  const flushHeaders = res.flushHeaders;
  const chunks: Buffer[] = [];
  const callbacks: Callback[] = [];
  let state: 'capturing' | 'ended' | 'passing' = 'capturing';

  const collect = (chunk: Chunk | null | undefined, encoding: unknown) => {
    if (chunk === null || chunk === undefined) return;
    if (typeof chunk === 'string') {
      chunks.push(
        Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
      );
    } else {
      chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
  };

  const flush = (body: Buffer) => {
    state = 'passing';
    (end as (...a: unknown[]) => ServerResponse).call(res, body, () => {
      for (const callback of callbacks) callback();
    });
  };

  res.writeHead = function (
    this: ServerResponse,
    status: number,
    ...rest: unknown[]
  ): ServerResponse {
    if (state === 'passing')
      return (writeHead as (...a: unknown[]) => ServerResponse).call(res, status, ...rest);
    if (state === 'ended') return res;
    started.add(res);
    res.statusCode = status;
    let headers = rest[0];
    if (typeof headers === 'string') {
      res.statusMessage = headers;
      headers = rest[1];
    }
    applyHeaders(res, headers as OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined);
    return res;
  } as ServerResponse['writeHead'];

  res.flushHeaders = function (this: ServerResponse): void {
    if (state === 'passing') flushHeaders.call(res);
  };

  res.write = function (
    this: ServerResponse,
    chunk: Chunk,
    encoding?: BufferEncoding | Callback,
    callback?: Callback,
  ): boolean {
    if (state === 'passing')
      return (write as (...a: unknown[]) => boolean).call(res, chunk, encoding, callback);
    if (state === 'ended') return false;
    const done = typeof encoding === 'function' ? encoding : callback;
    started.add(res);
    collect(chunk, encoding);
    if (done !== undefined) callbacks.push(done);
    return true;
  } as ServerResponse['write'];

  res.end = function (
    this: ServerResponse,
    chunk?: Chunk | Callback,
    encoding?: BufferEncoding | Callback,
    callback?: Callback,
  ): ServerResponse {
    if (state === 'passing')
      return (end as (...a: unknown[]) => ServerResponse).call(res, chunk, encoding, callback);
    if (state === 'ended') return res;
    state = 'ended';
    started.add(res);
    let done = callback;
    if (typeof chunk === 'function') done = chunk;
    else {
      if (typeof encoding === 'function') done = encoding;
      collect(chunk, encoding);
    }
    if (done !== undefined) callbacks.push(done);
    const body = Buffer.concat(chunks);
    chunks.length = 0;
    exchange.finish(res.statusCode, res.getHeaders(), body).then(() => flush(body));
    return res;
  } as ServerResponse['end'];
}

/** What writeHead's headers argument does to the response: an object, pairs, or a flat list. */
function applyHeaders(
  res: ServerResponse,
  headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined,
): void {
  if (headers === undefined || headers === null) return;
  if (!Array.isArray(headers)) {
    for (const name of Object.keys(headers)) {
      const value = headers[name];
      if (value !== undefined) res.setHeader(name, value);
    }
    return;
  }
  const pairs: unknown[] = headers;
  if (pairs.length > 0 && Array.isArray(pairs[0])) {
    for (const pair of pairs as Array<[string, string]>) res.appendHeader(pair[0], pair[1]);
    return;
  }
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    res.appendHeader(String(pairs[i]), pairs[i + 1] as string);
  }
}
