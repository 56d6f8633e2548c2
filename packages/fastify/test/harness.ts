import type { AddressInfo } from 'node:net';
import {
  type BulwarkRouteOptions,
  bulwark,
  deadline,
  idempotency,
  loadShedding,
  rateLimit,
} from '@bulwark/fastify';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import {
  adaptIdempotency,
  adaptRateLimit,
  type BuiltRoute,
  type Harness,
  type NeutralHandler,
  type NeutralRequest,
} from '../../http/test/conformance/index.js';

function neutral(request: FastifyRequest): NeutralRequest {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: request.body,
    get signal() {
      return request.signal;
    },
  };
}

function handle(handler: NeutralHandler) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const out = await handler(neutral(request));
    // An empty answer: the handler leaves the response to someone else (a deadline's 504).
    if (out.status === undefined && out.headers === undefined && out.body === undefined)
      return reply;
    reply.code(out.status ?? 200);
    for (const [name, value] of Object.entries(out.headers ?? {})) reply.header(name, value);
    if (Buffer.isBuffer(out.body)) return reply.type('application/octet-stream').send(out.body);
    if (typeof out.body === 'string') return reply.type('text/plain; charset=utf-8').send(out.body);
    return reply.send(out.body ?? null);
  };
}

/** The conformance harness on Fastify 5, with the bulwark plugin and per-route options. */
export function fastifyHarness(): Harness {
  return {
    name: 'Fastify 5',
    async start(spec) {
      const app = Fastify({ trustProxy: spec.trustProxy ?? false });
      await app.register(bulwark);
      const routes: BuiltRoute[] = [];
      for (const route of spec.routes) {
        const options: BulwarkRouteOptions = {};
        const built: BuiltRoute = {};
        if (route.rateLimit)
          options.rateLimit = rateLimit(adaptRateLimit(route.rateLimit, neutral));
        if (route.loadShedding) {
          options.loadShedding = loadShedding(route.loadShedding);
          built.bulkhead = options.loadShedding.bulkhead;
        }
        if (route.deadline) {
          options.deadline = deadline(route.deadline);
          built.timeout = options.deadline.policy;
        }
        if (route.idempotency) {
          options.idempotency = idempotency(adaptIdempotency(route.idempotency, neutral));
          built.idempotency = options.idempotency.policy;
        }
        app.route({
          method: route.method,
          url: route.path,
          config: { bulwark: options },
          handler: handle(route.handler),
        });
        routes.push(built);
      }
      const host = spec.host ?? '127.0.0.1';
      await app.listen({ port: 0, host });
      const { port } = app.server.address() as AddressInfo;
      const url = host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
      return {
        url,
        routes,
        close: async () => {
          app.server.closeAllConnections();
          await app.close();
        },
      };
    },
  };
}
