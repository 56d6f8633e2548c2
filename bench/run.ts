/**
 * Runs the benchmark suites on this Node (24, by `npm run bench`) and writes bench/RESULTS.md.
 * `npm run bench -- core retry` runs the named suites only; the others keep their last figures.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { measure } from 'mitata';
import { baselineOf } from './baseline.ts';
import { runHttpCases } from './http/throughput.ts';
import { resultsPage } from './report.ts';
import { median, pairedMedian, roundOrder } from './rounds.ts';
import type { Case, CaseResult, Suite, SuiteResult } from './suite.ts';

const here = new URL('./', import.meta.url);
const resultsDir = new URL('results/', here);

function machine(): string {
  const cpus = os.cpus();
  const gib = Math.round(os.totalmem() / 2 ** 30);
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB, ${os.platform()} ${os.arch()}`;
}

// Cases run round-robin, several rounds, after a warm-up round through the same harness whose
// figures are dropped. The warm-up matters: mitata's loop stays monomorphic for the first
// function it measures, so without it the case measured first (the bare call) runs faster than
// it ever does beside the others. A case's time is its median over rounds, and its overhead is
// the median over rounds of (its time - the bare call's time in the same round): both are then
// measured in the same JIT and GC state. Every other round runs the cases in reverse order.
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const cpuTimePerSample = Number(process.env.BENCH_CPU_MS ?? 400) * 1e6;

interface Sample {
  avg: number;
  p50: number;
  p99: number;
}

async function runSuite(suite: Suite): Promise<SuiteResult> {
  await suite.setup?.();
  const samples = new Map<Case, Sample[]>(suite.cases.map((c) => [c, []]));
  try {
    for (const c of suite.cases) await c.fn(); // fail loudly before measuring a case that throws
    for (const c of suite.cases) await measure(c.fn, { min_cpu_time: cpuTimePerSample / 4 });
    for (let round = 0; round < rounds; round++) {
      for (const c of roundOrder(suite.cases, round)) {
        const stats = await measure(c.fn, { min_cpu_time: cpuTimePerSample });
        const per = c.opsPerCall ?? 1;
        samples.get(c)!.push({ avg: stats.avg / per, p50: stats.p50 / per, p99: stats.p99 / per });
      }
    }
  } finally {
    await suite.teardown?.();
  }
  const bare = suite.cases.find((c) => c.kind === 'bare');
  const bareSamples = bare ? samples.get(bare)! : undefined;
  const cases = suite.cases.map((c): CaseResult => {
    const own = samples.get(c)!;
    const overheadNs =
      bareSamples && c !== bare
        ? pairedMedian(
            own.map((s) => s.avg),
            bareSamples.map((s) => s.avg),
            (value, bareValue) => value - bareValue,
          )
        : undefined;
    return {
      name: c.name,
      kind: c.kind,
      nsPerOp: median(own.map((s) => s.avg)),
      p50NsPerOp: median(own.map((s) => s.p50)),
      p99NsPerOp: median(own.map((s) => s.p99)),
      ...(overheadNs !== undefined ? { overheadNs } : {}),
      ...(c.target ? { target: c.target } : {}),
    };
  });
  for (const c of cases)
    console.log(
      `  ${c.name.padEnd(56)} ${c.nsPerOp.toFixed(1).padStart(12)} ns/op${c.overheadNs === undefined ? '' : ` (${c.overheadNs >= 0 ? '+' : ''}${c.overheadNs.toFixed(1)} over bare)`}`,
    );
  return {
    id: suite.id,
    title: suite.title,
    about: suite.about,
    machine: machine(),
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    cases,
  };
}

// A suite's id is its file name without the order prefix: suites/05b-breaker-failure.ts is
// breaker-failure. Only the suites asked for are imported.
const suiteId = (file: string) => file.replace(/^\d+[a-z]?-|\.ts$/g, '');
const wanted = new Set(process.argv.slice(2));
const suiteFiles = readdirSync(new URL('suites/', here))
  .filter((f) => f.endsWith('.ts'))
  .sort();
const chosen = suiteFiles.filter((f) => wanted.size === 0 || wanted.has(suiteId(f)));
const httpWanted = wanted.size === 0 || wanted.has('http');
// One suite per process: a suite measured after others would inherit the JIT feedback and the
// heap they left (a breaker holding 200k calls, a peer's timers), and the order of suites would
// change its figures. Within a suite, ours and the peers share one process, as they must.
if (chosen.length + (httpWanted ? 1 : 0) > 1) {
  for (const id of [...chosen.map(suiteId), ...(httpWanted ? ['http'] : [])]) {
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), id], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_NO_REPORT: '1' },
    });
    if (child.status !== 0) throw new Error(`bench: suite ${id} failed (exit ${child.status})`);
  }
} else {
  for (const file of chosen) {
    const { default: suite } = (await import(new URL(`suites/${file}`, here).href)) as {
      default: Suite;
    };
    if (suite.id !== suiteId(file))
      throw new Error(`bench: suites/${file} must have id '${suiteId(file)}', got '${suite.id}'`);
    console.log(`${suite.title} (${suite.id})`);
    const result = { ...(await runSuite(suite)), baseline: baselineOf(suite.id) };
    writeFileSync(new URL(`${suite.id}.json`, resultsDir), `${JSON.stringify(result, null, 2)}\n`);
  }
  if (httpWanted) await runHttpSuite();
}

async function runHttpSuite(): Promise<void> {
  console.log('HTTP: requests per second over loopback (http)');
  const result: SuiteResult = {
    id: 'http',
    title: 'HTTP: requests per second through Express and Fastify middleware',
    about:
      "autocannon over loopback, 10 connections. The cases run round-robin, 8 rounds, every other one in reverse order; each run starts its server in a fresh process (the same server runs up to 30% faster or slower from one process to the next), warms it up for 2 s and measures it for 3 s, with the load generator pinned to one core and the server to the other where taskset exists. A case is compared with its bare framework in the same round, and the median over rounds of that cost is reported, with the median throughput. The server's own CPU time per request (user + system, from process.cpuUsage) is reported beside it. The rows in italics are for scale: a middleware (Express) or onRequest hook (Fastify) that does nothing, what the framework charges for any middleware; and one that only sets the two RateLimit fields bulwark sends, as constants, what those fields cost by themselves. The rows with fields: 'refused' are bulwark's rateLimit sending the two fields with its 429s only. The rate limiters are set far above the load, so every request passes and is counted; the replay case repeats one POST with the same Idempotency-Key against the memory store. Instructions per request are counted by valgrind's callgrind in the server process (user space only, not the kernel's share), after 20 000 requests of warm-up, over 5 000 requests, 3 times per case, round-robin; unlike requests per second they move by 1-2% from run to run, so they show a cost of a few percent that throughput on this VM cannot resolve.",
    machine: machine(),
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    cases: [],
    http: await runHttpCases(),
  };
  writeFileSync(new URL('http.json', resultsDir), `${JSON.stringify(result, null, 2)}\n`);
}

if (process.env.BENCH_NO_REPORT === undefined) writeReport();

function writeReport(): void {
  const order = new Map<string, number>();
  const all: SuiteResult[] = [];
  for (const file of suiteFiles) order.set(suiteId(file), order.size);
  for (const file of readdirSync(resultsDir).filter((f) => f.endsWith('.json'))) {
    all.push(JSON.parse(readFileSync(new URL(file, resultsDir), 'utf8')) as SuiteResult);
  }
  all.sort((a, b) => (order.get(a.id) ?? 99) - (order.get(b.id) ?? 99));
  writeFileSync(new URL('RESULTS.md', here), resultsPage(all));
  console.log('wrote bench/RESULTS.md');
}
