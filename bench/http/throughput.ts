/**
 * Requests per second through Express and Fastify, bare and with each rate limiter, measured by
 * autocannon over loopback. Each server runs in a child process; autocannon in this one.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import autocannon from 'autocannon';
import { median, pairedMedian, roundOrder } from '../rounds.ts';
import type { HttpCaseResult } from '../suite.ts';
import { canCountInstructions, instructionsPerRequest } from './instructions.ts';
import { listeningPort } from './listening.ts';

export interface HttpCase {
  name: string;
  variant: string;
  /** `reference`: a middleware for scale (one that does nothing; one that only sets the fields). */
  kind: 'bare' | 'ours' | 'peer' | 'reference';
  /** The bare case this one is compared with. */
  bare?: string;
  /** Where the middleware's own code lives (a path fragment): its share of the server's CPU is profiled. */
  code?: string;
  request?: { method: 'POST'; path: string; headers: Record<string, string>; body: string };
}

export const httpCases: HttpCase[] = [
  { name: 'Express bare', variant: 'express-bare', kind: 'bare' },
  {
    name: 'Express + a middleware that does nothing',
    variant: 'express-empty',
    kind: 'reference',
    bare: 'Express bare',
  },
  {
    name: 'Express + a middleware setting the two RateLimit fields, constant',
    variant: 'express-fields',
    kind: 'reference',
    bare: 'Express bare',
  },
  {
    name: 'Express + bulwark rateLimit',
    code: '/packages/',
    variant: 'express-bulwark',
    kind: 'ours',
    bare: 'Express bare',
  },
  {
    name: "Express + bulwark rateLimit, fields: 'refused' (RateLimit fields on 429s only)",
    code: '/packages/',
    variant: 'express-bulwark-refused',
    kind: 'ours',
    bare: 'Express bare',
  },
  {
    name: 'Express + express-rate-limit',
    code: '/express-rate-limit/',
    variant: 'express-erl',
    kind: 'peer',
    bare: 'Express bare',
  },
  { name: 'Fastify bare', variant: 'fastify-bare', kind: 'bare' },
  {
    name: 'Fastify + an onRequest hook that does nothing',
    variant: 'fastify-empty',
    kind: 'reference',
    bare: 'Fastify bare',
  },
  {
    name: 'Fastify + an onRequest hook setting the two RateLimit fields, constant',
    variant: 'fastify-fields',
    kind: 'reference',
    bare: 'Fastify bare',
  },
  {
    name: 'Fastify + bulwark rateLimit',
    code: '/packages/',
    variant: 'fastify-bulwark',
    kind: 'ours',
    bare: 'Fastify bare',
  },
  {
    name: "Fastify + bulwark rateLimit, fields: 'refused' (RateLimit fields on 429s only)",
    code: '/packages/',
    variant: 'fastify-bulwark-refused',
    kind: 'ours',
    bare: 'Fastify bare',
  },
  {
    name: 'Fastify + @fastify/rate-limit',
    code: '/@fastify/rate-limit/',
    variant: 'fastify-frl',
    kind: 'peer',
    bare: 'Fastify bare',
  },
  {
    name: 'Express idempotency replay (POST, same key)',
    code: '/packages/',
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
const instructionRuns = Number(process.env.BENCH_HTTP_INSTRUCTION_RUNS ?? 3);
const serverPath = new URL('./server.ts', import.meta.url).pathname;
const rounds = Number(process.env.BENCH_HTTP_ROUNDS ?? 8);
const warmUpSeconds = Number(process.env.BENCH_HTTP_WARM_UP_SECONDS ?? 2);
const profileSeconds = 2;

async function startServer(variant: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, [serverPath, variant], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return { port: await listeningPort(child, variant), child };
}

/** The share of the server's CPU in the code under `code`, over `profileSeconds` of load. */
async function profiled(
  server: { port: number; child: ChildProcess },
  c: HttpCase,
  code: string,
): Promise<number> {
  server.child.send('profile');
  await once(server.child, 'message');
  await load(server.port, c, profileSeconds);
  server.child.send({ share: code });
  const [{ share }] = (await once(server.child, 'message')) as [{ share: number }];
  return share;
}

/** The server's CPU time so far (user + system), in microseconds. */
async function cpuTime(child: ChildProcess): Promise<number> {
  child.send('cpu');
  const [usage] = (await once(child, 'message')) as [NodeJS.CpuUsage];
  return usage.user + usage.system;
}

/** Load for `length` seconds, or `{ amount }` requests. */
async function load(port: number, c: HttpCase, length: number | { amount: number }) {
  return autocannon({
    url: `http://127.0.0.1:${port}${c.request?.path ?? '/'}`,
    connections: 10,
    pipelining: 1,
    ...(typeof length === 'number' ? { duration: length } : { amount: length.amount, timeout: 60 }),
    ...(c.request
      ? { method: c.request.method, headers: c.request.headers, body: c.request.body }
      : {}),
  });
}

interface Run {
  rps: number;
  /** The server's CPU time per request, in µs. */
  cpuUs: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** The share of the server's busy CPU in the middleware's own code, if profiled. */
  ownShare?: number;
}

/** Pins a process (every thread of it) to one core; false where taskset is missing. */
function pinTo(pid: number, core: number): boolean {
  if (process.platform !== 'linux') return false;
  return spawnSync('taskset', ['-a', '-cp', String(core), String(pid)]).status === 0;
}

async function measureCase(c: HttpCase, pinned: boolean): Promise<Run> {
  const server = await startServer(c.variant);
  try {
    if (pinned) pinTo(server.child.pid!, 1);
    await load(server.port, c, warmUpSeconds);
    const cpuBefore = await cpuTime(server.child);
    const run = await load(server.port, c, seconds);
    const cpuUs = (await cpuTime(server.child)) - cpuBefore;
    // Profiled after the measured stretch, so the profiler's own cost stays out of it.
    const ownShare = c.code === undefined ? undefined : await profiled(server, c, c.code);
    return {
      ...(ownShare === undefined ? {} : { ownShare }),
      rps: run.requests.average,
      cpuUs: cpuUs / Math.max(1, run.requests.total),
      p50: run.latency.p50,
      p99: run.latency.p99,
      errors: run.errors,
      non2xx: run.non2xx,
    };
  } finally {
    server.child.kill();
    await once(server.child, 'exit');
  }
}

/**
 * The cases run round-robin, `rounds` times. Each run starts its server afresh, warms it up for
 * `warmUpSeconds` and measures it for `seconds`: the same server code runs up to 30% faster or
 * slower from one process to the next (the JIT's choices), so a figure comes from many
 * processes, not one. Loopback throughput on a small shared machine also drifts within a
 * minute, so a case's cost is taken against its bare framework in the same round, and the median
 * of those per-round costs is reported, with the median throughput. Where `taskset` exists, the
 * load generator runs on one core and the server on the other.
 */
export async function runHttpCases(): Promise<HttpCaseResult[]> {
  const runs = new Map<HttpCase, Run[]>(httpCases.map((c) => [c, []]));
  const pinned = pinTo(process.pid, 0);
  for (let r = 0; r < rounds; r++) {
    for (const c of roundOrder(httpCases, r)) {
      const run = await measureCase(c, pinned);
      if (process.env.BENCH_VERBOSE) {
        console.log(
          `    round ${r + 1} ${c.name.padEnd(72)} ${run.rps.toFixed(0).padStart(7)} req/s ${run.cpuUs.toFixed(1).padStart(6)} µs CPU/request${run.ownShare === undefined ? '' : `, own code ${(run.ownShare * 100).toFixed(1)}% of server CPU`}`,
        );
      }
      runs.get(c)!.push(run);
    }
  }
  const counts = await countInstructions();
  const results = httpCases.map((c): HttpCaseResult => {
    const own = runs.get(c)!;
    const bare = httpCases.find((b) => b.name === c.bare);
    const bareRuns = bare ? runs.get(bare)! : undefined;
    const ownCounts = counts?.get(c);
    const bareCounts = bare ? counts?.get(bare) : undefined;
    return {
      name: c.name,
      kind: c.kind,
      ...(c.bare ? { bare: c.bare } : {}),
      requestsPerSecond: median(rps(own)),
      ...(bareRuns ? { costVsBare: pairedMedian(rps(own), rps(bareRuns), throughputCost) } : {}),
      cpuUsPerRequest: median(cpu(own)),
      ...(bareRuns ? { cpuCostVsBare: pairedMedian(cpu(own), cpu(bareRuns), increase) } : {}),
      ...(c.code === undefined
        ? {}
        : { ownCpuShare: median(own.map((r) => r.ownShare ?? Number.NaN)) }),
      ...(ownCounts ? { instructionsPerRequest: median(ownCounts) } : {}),
      ...(ownCounts && bareCounts
        ? { instructionCostVsBare: pairedMedian(ownCounts, bareCounts, increase) }
        : {}),
      p50Ms: median(own.map((r) => r.p50)),
      p99Ms: median(own.map((r) => r.p99)),
      errors: own.reduce((sum, r) => sum + r.errors, 0),
      non2xx: own.reduce((sum, r) => sum + r.non2xx, 0),
    };
  });
  for (const r of results) {
    const cost =
      r.costVsBare === undefined ? '' : ` (${(r.costVsBare * 100).toFixed(1)}% below bare)`;
    const cpuCost =
      r.cpuCostVsBare === undefined ? '' : ` (${(r.cpuCostVsBare * 100).toFixed(1)}% above bare)`;
    const instructions =
      r.instructionsPerRequest === undefined
        ? ''
        : `, ${r.instructionsPerRequest.toFixed(0)} instructions/request${r.instructionCostVsBare === undefined ? '' : ` (${(r.instructionCostVsBare * 100).toFixed(1)}% above bare)`}`;
    console.log(
      `  ${r.name.padEnd(56)} ${r.requestsPerSecond.toFixed(0).padStart(12)} req/s${cost}, ${r.cpuUsPerRequest?.toFixed(1)} µs CPU/request${cpuCost}${r.ownCpuShare === undefined ? '' : `, own code ${(r.ownCpuShare * 100).toFixed(1)}% of server CPU`}${instructions}`,
    );
  }
  return results;
}

const rps = (runs: Run[]) => runs.map((r) => r.rps);
const cpu = (runs: Run[]) => runs.map((r) => r.cpuUs);
/** The share of the bare case's throughput a case loses. */
const throughputCost = (value: number, bareValue: number) => 1 - value / bareValue;
/** How much more a case takes than the bare case, as a share of the bare case's. */
const increase = (value: number, bareValue: number) => value / bareValue - 1;

/**
 * Each case's instructions per request, `instructionRuns` times, round-robin like the
 * throughput rounds; undefined where valgrind is missing or BENCH_HTTP_INSTRUCTION_RUNS is 0.
 */
async function countInstructions(): Promise<Map<HttpCase, number[]> | undefined> {
  if (!(instructionRuns > 0)) return undefined;
  if (!canCountInstructions()) {
    console.log('  (valgrind is not installed: no instruction counts)');
    return undefined;
  }
  const counts = new Map<HttpCase, number[]>(httpCases.map((c) => [c, []]));
  for (let r = 0; r < instructionRuns; r++) {
    for (const c of roundOrder(httpCases, r)) {
      const count = await instructionsPerRequest(serverPath, c.variant, async (port, amount) => {
        const run = await load(port, c, { amount });
        return run.requests.total;
      });
      if (process.env.BENCH_VERBOSE) {
        console.log(
          `    count ${r + 1} ${c.name.padEnd(72)} ${count.toFixed(0)} instructions/request`,
        );
      }
      counts.get(c)!.push(count);
    }
  }
  return counts;
}
