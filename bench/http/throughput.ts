/**
 * Requests per second through Express and Fastify, bare and with each rate limiter, measured by
 * autocannon over loopback. Each server runs in a child process; autocannon in this one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import autocannon from 'autocannon';
import type { HttpCaseResult } from '../suite.ts';

export interface HttpCase {
  name: string;
  variant: string;
  kind: 'bare' | 'ours' | 'peer';
  /** The bare case this one is compared with. */
  bare?: string;
  request?: { method: 'POST'; path: string; headers: Record<string, string>; body: string };
}

export const httpCases: HttpCase[] = [
  { name: 'Express bare', variant: 'express-bare', kind: 'bare' },
  {
    name: 'Express + bulwark rateLimit',
    variant: 'express-bulwark',
    kind: 'ours',
    bare: 'Express bare',
  },
  {
    name: 'Express + express-rate-limit',
    variant: 'express-erl',
    kind: 'peer',
    bare: 'Express bare',
  },
  { name: 'Fastify bare', variant: 'fastify-bare', kind: 'bare' },
  {
    name: 'Fastify + bulwark rateLimit',
    variant: 'fastify-bulwark',
    kind: 'ours',
    bare: 'Fastify bare',
  },
  {
    name: 'Fastify + @fastify/rate-limit',
    variant: 'fastify-frl',
    kind: 'peer',
    bare: 'Fastify bare',
  },
  {
    name: 'Express idempotency replay (POST, same key)',
    variant: 'express-bare',
    kind: 'ours',
    bare: 'Express bare',
    request: {
      method: 'POST',
      path: '/payments',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bench-key' },
      body: JSON.stringify({ amount: 100 }),
    },
  },
];

const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

async function startServer(variant: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [new URL('./server.ts', import.meta.url).pathname, variant],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: (JSON.parse(String(line)) as { port: number }).port, child };
}

async function load(port: number, c: HttpCase, duration: number) {
  return autocannon({
    url: `http://127.0.0.1:${port}${c.request?.path ?? '/'}`,
    connections: 10,
    pipelining: 1,
    duration,
    ...(c.request
      ? { method: c.request.method, headers: c.request.headers, body: c.request.body }
      : {}),
  });
}

/** Each case: a warm-up second, then `rounds` runs of `seconds`; the best run counts. */
export async function runHttpCases(): Promise<HttpCaseResult[]> {
  const results: HttpCaseResult[] = [];
  for (const c of httpCases) {
    const { port, child } = await startServer(c.variant);
    try {
      await load(port, c, 1);
      let best: HttpCaseResult | undefined;
      for (let r = 0; r < rounds; r++) {
        const run = await load(port, c, seconds);
        const result: HttpCaseResult = {
          name: c.name,
          kind: c.kind,
          ...(c.bare ? { bare: c.bare } : {}),
          requestsPerSecond: run.requests.average,
          p50Ms: run.latency.p50,
          p99Ms: run.latency.p99,
          errors: run.errors,
          non2xx: run.non2xx,
        };
        if (!best || result.requestsPerSecond > best.requestsPerSecond) best = result;
      }
      results.push(best!);
      console.log(
        `  ${c.name.padEnd(56)} ${best!.requestsPerSecond.toFixed(0).padStart(12)} req/s`,
      );
    } finally {
      child.kill();
      await once(child, 'exit');
    }
  }
  return results;
}
