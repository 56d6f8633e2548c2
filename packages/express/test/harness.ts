import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deadline, errorHandler, idempotency, loadShedding, rateLimit } from '@bulwark/express';
import type express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  adaptIdempotency,
  adaptRateLimit,
  type BuiltRoute,
  type Harness,
  type NeutralHandler,
  type NeutralRequest,
} from '../../http/test/conformance/index.js';

function neutral(req: Request): NeutralRequest {
  return {
    method: req.method,
    url: req.originalUrl,
    headers: req.headers,
    body: req.body,
    get signal() {
      return req.signal;
    },
  };
}

function handle(handler: NeutralHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve()
      .then(() => handler(neutral(req)))
      .then((out) => {
        // An empty answer: the handler leaves the response to someone else (a deadline's 504).
        if (out.status === undefined && out.headers === undefined && out.body === undefined) return;
        res.status(out.status ?? 200);
        for (const [name, value] of Object.entries(out.headers ?? {})) res.setHeader(name, value);
        if (Buffer.isBuffer(out.body)) res.type('application/octet-stream').send(out.body);
        else if (typeof out.body === 'string') res.type('text/plain; charset=utf-8').send(out.body);
        else res.json(out.body ?? null);
      })
      .catch(next);
  };
}

export function listen(server: Server, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve(host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`);
    });
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The conformance harness on an Express module: `express` (5) or `express4`. */
export function expressHarness(name: string, createApp: typeof express): Harness {
  return {
    name,
    async start(spec) {
      const app = createApp();
      if (spec.trustProxy) app.set('trust proxy', true);
      app.use(createApp.json());
      const routes: BuiltRoute[] = [];
      for (const route of spec.routes) {
        const chain: RequestHandler[] = [];
        const built: BuiltRoute = {};
        if (route.rateLimit) chain.push(rateLimit(adaptRateLimit(route.rateLimit, neutral)));
        if (route.loadShedding) {
          const shed = loadShedding(route.loadShedding);
          built.bulkhead = shed.bulkhead;
          chain.push(shed);
        }
        if (route.deadline) {
          const timed = deadline(route.deadline);
          built.timeout = timed.policy;
          chain.push(timed);
        }
        if (route.idempotency) {
          const keyed = idempotency(adaptIdempotency(route.idempotency, neutral));
          built.idempotency = keyed.policy;
          chain.push(keyed);
        }
        chain.push(handle(route.handler));
        const method = route.method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete';
        app[method](route.path, ...chain);
        routes.push(built);
      }
      app.use(errorHandler());
      const server = createServer(app);
      const url = await listen(server, spec.host ?? '127.0.0.1');
      return { url, routes, close: () => close(server) };
    },
  };
}
