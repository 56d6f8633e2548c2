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

const seconds = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 6);

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

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Every server starts first; then the cases run round-robin, `rounds` times `seconds` each.
 * Loopback throughput on a small shared machine drifts by 10% and more within a minute, so a
 * case's cost is taken against its bare framework in the same round, and the median of those
 * per-round costs is reported, with the median throughput.
 */
export async function runHttpCases(): Promise<HttpCaseResult[]> {
  const servers = new Map<string, { port: number; child: ChildProcess }>();
  const runs = new Map<
    HttpCase,
    Array<{ rps: number; p50: number; p99: number; errors: number; non2xx: number }>
  >();
  try {
    for (const c of httpCases) {
      if (!servers.has(c.variant)) servers.set(c.variant, await startServer(c.variant));
      runs.set(c, []);
    }
    for (const c of httpCases) await load(servers.get(c.variant)!.port, c, 1);
    for (let r = 0; r < rounds; r++) {
      for (const c of httpCases) {
        const run = await load(servers.get(c.variant)!.port, c, seconds);
        runs.get(c)!.push({
          rps: run.requests.average,
          p50: run.latency.p50,
          p99: run.latency.p99,
          errors: run.errors,
          non2xx: run.non2xx,
        });
      }
    }
  } finally {
    for (const { child } of servers.values()) {
      child.kill();
      await once(child, 'exit');
    }
  }
  const results = httpCases.map((c): HttpCaseResult => {
    const own = runs.get(c)!;
    const bare = httpCases.find((b) => b.name === c.bare);
    const bareRuns = bare ? runs.get(bare)! : undefined;
    return {
      name: c.name,
      kind: c.kind,
      ...(c.bare ? { bare: c.bare } : {}),
      requestsPerSecond: median(own.map((r) => r.rps)),
      ...(bareRuns ? { costVsBare: median(own.map((r, i) => 1 - r.rps / bareRuns[i]!.rps)) } : {}),
      p50Ms: median(own.map((r) => r.p50)),
      p99Ms: median(own.map((r) => r.p99)),
      errors: own.reduce((sum, r) => sum + r.errors, 0),
      non2xx: own.reduce((sum, r) => sum + r.non2xx, 0),
    };
  });
  for (const r of results) {
    const cost =
      r.costVsBare === undefined ? '' : ` (${(r.costVsBare * 100).toFixed(1)}% below bare)`;
    console.log(
      `  ${r.name.padEnd(56)} ${r.requestsPerSecond.toFixed(0).padStart(12)} req/s${cost}`,
    );
  }
  return results;
}
