/**
 * Runs the benchmark suites on this Node (24, by `npm run bench`) and writes bench/RESULTS.md.
 * `npm run bench -- core retry` runs the named suites only; the others keep their last figures.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { measure } from 'mitata';
import { runHttpCases } from './http/throughput.ts';
import { resultsPage } from './report.ts';
import type { Case, CaseResult, Suite, SuiteResult } from './suite.ts';

const here = new URL('./', import.meta.url);
const resultsDir = new URL('results/', here);

function machine(): string {
  const cpus = os.cpus();
  const gib = Math.round(os.totalmem() / 2 ** 30);
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${gib} GiB, ${os.platform()} ${os.arch()}`;
}

// Cases run round-robin, several rounds, and each keeps its best round: a case measured right
// after another inherits that one's JIT state, and alternating evens that out.
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const cpuTimePerSample = Number(process.env.BENCH_CPU_MS ?? 400) * 1e6;

async function runSuite(suite: Suite): Promise<SuiteResult> {
  await suite.setup?.();
  const best = new Map<Case, CaseResult>();
  try {
    for (const c of suite.cases) await c.fn(); // fail loudly before measuring a case that throws
    for (let round = 0; round < rounds; round++) {
      for (const c of suite.cases) {
        const stats = await measure(c.fn, { min_cpu_time: cpuTimePerSample });
        const per = c.opsPerCall ?? 1;
        const previous = best.get(c);
        if (previous && previous.nsPerOp <= stats.avg / per) continue;
        best.set(c, {
          name: c.name,
          kind: c.kind,
          nsPerOp: stats.avg / per,
          p50NsPerOp: stats.p50 / per,
          p99NsPerOp: stats.p99 / per,
          ...(c.target ? { target: c.target } : {}),
        });
      }
    }
  } finally {
    await suite.teardown?.();
  }
  const cases = suite.cases.map((c) => best.get(c)!);
  for (const c of cases)
    console.log(`  ${c.name.padEnd(56)} ${c.nsPerOp.toFixed(1).padStart(12)} ns/op`);
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
for (const file of suiteFiles) {
  if (wanted.size > 0 && !wanted.has(suiteId(file))) continue;
  const { default: suite } = (await import(new URL(`suites/${file}`, here).href)) as {
    default: Suite;
  };
  if (suite.id !== suiteId(file))
    throw new Error(`bench: suites/${file} must have id '${suiteId(file)}', got '${suite.id}'`);
  console.log(`${suite.title} (${suite.id})`);
  const result = await runSuite(suite);
  writeFileSync(new URL(`${suite.id}.json`, resultsDir), `${JSON.stringify(result, null, 2)}\n`);
}

if (wanted.size === 0 || wanted.has('http')) {
  console.log('HTTP: requests per second over loopback (http)');
  const result: SuiteResult = {
    id: 'http',
    title: 'HTTP: requests per second through Express and Fastify middleware',
    about:
      'autocannon over loopback, 10 connections, each server in its own process; the cases run round-robin, 6 rounds of 3 s after a warm-up. A case is compared with its bare framework in the same round, and the median over rounds of that cost is reported, with the median throughput. The rate limiters are set far above the load, so every request passes and is counted; the replay case repeats one POST with the same Idempotency-Key against the memory store.',
    machine: machine(),
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    cases: [],
    http: await runHttpCases(),
  };
  writeFileSync(new URL('http.json', resultsDir), `${JSON.stringify(result, null, 2)}\n`);
}

const order = new Map<string, number>();
const all: SuiteResult[] = [];
for (const file of suiteFiles) order.set(suiteId(file), order.size);
for (const file of readdirSync(resultsDir).filter((f) => f.endsWith('.json'))) {
  all.push(JSON.parse(readFileSync(new URL(file, resultsDir), 'utf8')) as SuiteResult);
}
all.sort((a, b) => (order.get(a.id) ?? 99) - (order.get(b.id) ?? 99));
writeFileSync(new URL('RESULTS.md', here), resultsPage(all));
console.log('wrote bench/RESULTS.md');
