/**
 * npm run example:fetch
 *
 * Wraps `fetch` with a per-attempt timeout, retries that honour `Retry-After`, and a circuit
 * breaker, then calls a local server that is overloaded at first (503 + Retry-After), slow once,
 * and then fine.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import { type Context, pipeline, wrap } from '@bulwark/core';
import { exponential, retry } from '@bulwark/retry';
import { timeout } from '@bulwark/timeout';
import { HttpError, isTransient, retryAfterMs } from './http-error.js';

const policy = pipeline(
  retry({
    maxAttempts: 4,
    backoff: exponential({ initialMs: 100, maxMs: 2_000 }),
    retryOn: isTransient,
  }),
  circuitBreaker({ name: 'inventory', breaker: consecutiveBreaker(5), halfOpenAfterMs: 10_000 }),
  timeout({ ms: 500 }),
);
policy.on((e) => {
  if (e.type === 'retry')
    console.log(
      `  retry: attempt ${e.attempt} failed (${String(e.error)}), next in ${Math.round(Number(e.delayMs))} ms`,
    );
  if (e.type === 'timeout') console.log(`  timeout after ${e.ms} ms`);
  if (e.type === 'open') console.log('  circuit open');
});

/** fetch, with the policy around it; an error status becomes an HttpError with its Retry-After. */
const resilientFetch = wrap(policy, async (url: string, init?: RequestInit, ctx?: Context) => {
  const response = await fetch(url, { ...init, signal: ctx?.signal });
  if (!response.ok)
    throw new HttpError(response.status, retryAfterMs(response.headers.get('retry-after')));
  return response.json() as Promise<unknown>;
});

// A server that is overloaded for its first two requests, then hangs once, then answers.
let served = 0;
const server = createServer((_req, res) => {
  served++;
  if (served <= 2) {
    res.writeHead(503, { 'retry-after': '1' }).end();
  } else if (served === 3) {
    setTimeout(() => res.end(JSON.stringify({ late: true })), 2_000).unref();
  } else {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ sku: 'bulwark-1', inStock: 42 }));
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

const started = Date.now();
console.log(`GET http://127.0.0.1:${port}/inventory/bulwark-1`);
const body = await resilientFetch(`http://127.0.0.1:${port}/inventory/bulwark-1`);
console.log(`ok after ${served} requests and ${Date.now() - started} ms:`, body);
server.closeAllConnections();
server.close();
