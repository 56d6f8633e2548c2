import type { Readable } from 'node:stream';
import {
  HttpIdempotency,
  type HttpIdempotencyOptions,
  type IdempotentExchange,
} from '@bulwark/http';
import type { IdempotencyPolicy } from '@bulwark/idempotency';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Protection, RequestHook, SendHook } from './hooks.js';
import { sendProblem, sendStoredResponse } from './reply.js';

export type IdempotencyOptions = HttpIdempotencyOptions<FastifyRequest>;

export interface IdempotencyProtection extends Protection {
  readonly kind: 'idempotency';
  /** The policy underneath: `.on(listener)` hears `claimed`, `replayed`, `released`... */
  readonly policy: IdempotencyPolicy;
  readonly preHandler: RequestHook;
  readonly onSend: SendHook;
}

/** The exchange of a request whose handler runs under its key, until its onSend. */
export const kExchange: unique symbol = Symbol('bulwark.idempotency.exchange');

interface WithExchange {
  [kExchange]: IdempotentExchange | null;
}

function isAsyncIterable(value: object): value is AsyncIterable<unknown> {
  return (
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/** A payload as bytes: onSend may see a string, a Buffer, a stream, or a fetch Response. */
async function bytesOf(payload: unknown, reply: FastifyReply): Promise<string | Buffer> {
  if (payload === null || payload === undefined) return '';
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload);
  if (payload instanceof Response) {
    // Fastify would take status and headers from the Response; now they are the reply's.
    reply.code(payload.status);
    payload.headers.forEach((value, name) => {
      reply.header(name, value);
    });
    return payload.body === null ? '' : bytesOf(payload.body, reply);
  }
  if (typeof payload === 'object' && isAsyncIterable(payload)) {
    const chunks: Buffer[] = [];
    for await (const chunk of payload as Readable) {
      chunks.push(
        typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array),
      );
    }
    return Buffer.concat(chunks);
  }
  return String(payload);
}

/**
 * The IETF `Idempotency-Key` header on POST and PATCH (by default), as a `preHandler` (the body
 * is parsed by then: it is part of the fingerprint) and an `onSend` hook: the first request with
 * a key runs; its response is stored in onSend, and only then sent; a repeat gets the stored
 * response with `Idempotent-Replayed: true`.
 */
export function idempotency(options?: IdempotencyOptions): IdempotencyProtection {
  const engine = new HttpIdempotency<FastifyRequest>('idempotency', options);
  const preHandler: RequestHook = (request, reply, done) => {
    if (!engine.covers(request.method)) return done();
    engine
      .begin(request, request.method, request.url, request.headers['idempotency-key'], request.body)
      .then((start) => {
        switch (start.type) {
          case 'pass':
            return done();
          case 'refuse':
            sendProblem(reply, start.problem);
            return;
          case 'fail':
            return done(start.error as Error);
          case 'replay':
            sendStoredResponse(reply, start.response);
            return;
          case 'run':
            (request as unknown as WithExchange)[kExchange] = start.exchange;
            return done();
        }
      }, done);
  };
  const onSend: SendHook = (request, reply, payload, done) => {
    const holder = request as unknown as WithExchange;
    const exchange = holder[kExchange];
    if (exchange === null || exchange === undefined) return done(null, payload);
    holder[kExchange] = null;
    bytesOf(payload, reply).then(
      (body) =>
        exchange.finish(reply.statusCode, reply.getHeaders(), body).then(() => done(null, body)),
      (error: unknown) => {
        // The body could not be read: nothing to store, and the key is released.
        exchange.finish(500, {}, '').then(() => done(error as Error));
      },
    );
  };
  return { kind: 'idempotency', policy: engine.policy, preHandler, onSend };
}
