/**
 * npm run demo [-- --seconds 20 --concurrency 50]
 *
 * Two fleets of workers call the same kind of flaky dependency side by side: one calls it
 * bare, the other through a bulwark pipeline (bulkhead, overall timeout, retry with jittered
 * backoff, circuit breaker, per-attempt timeout). The dependency follows one script for both:
 * healthy, latency spikes, error bursts, a full outage, recovery.
 */
import { parseArgs } from 'node:util';
import { bulkhead } from '@bulwark/bulkhead';
import { circuitBreaker, failureRateBreaker } from '@bulwark/circuit-breaker';
import { isResilienceError, type Policy, pipeline } from '@bulwark/core';
import { exponential, retry } from '@bulwark/retry';
import { timeout } from '@bulwark/timeout';
import { Downstream } from './downstream.js';
import { Tally } from './stats.js';

function options(): { seconds: number; concurrency: number } {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '50' },
    },
  });
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  if (!(seconds > 0 && seconds <= 600))
    throw new RangeError(`--seconds must be in (0, 600], got ${values.seconds}`);
  if (!(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 5000)) {
    throw new RangeError(
      `--concurrency must be an integer from 1 to 5000, got ${values.concurrency}`,
    );
  }
  return { seconds, concurrency };
}

function protection(): { policy: Policy; transitions: Map<string, number>; state: () => string } {
  const breaker = circuitBreaker({
    name: 'downstream',
    breaker: failureRateBreaker({ threshold: 0.5, minimumCalls: 20, window: { calls: 100 } }),
    // Probe after 0.5 s, then wait twice as long after each failed probe, up to 2 s.
    halfOpenAfterMs: { initialMs: 500, maxMs: 2_000, factor: 2 },
  });
  const policy = pipeline(
    bulkhead({ maxConcurrent: 64, maxQueue: 256 }),
    timeout({ ms: 1_500 }),
    retry({
      maxAttempts: 3,
      backoff: exponential({ initialMs: 25, maxMs: 250 }),
      retryOn: (error) => !isResilienceError(error, 'CIRCUIT_OPEN'),
    }),
    breaker,
    timeout({ ms: 300 }),
  );
  const transitions = new Map<string, number>();
  policy.on((event) => {
    if (event.type === 'open' || event.type === 'half-open' || event.type === 'close') {
      transitions.set(event.type, (transitions.get(event.type) ?? 0) + 1);
    }
  });
  return { policy, transitions, state: () => breaker.state };
}

// Each worker asks about 20 times a second, like a client with a steady workload.
const PACE_MS = 50;

async function worker(until: number, call: () => Promise<unknown>, tally: Tally): Promise<void> {
  while (performance.now() < until) {
    const started = performance.now();
    let failure: unknown;
    try {
      await call();
    } catch (error) {
      failure = error ?? new Error('rejected without a reason');
    }
    const took = performance.now() - started;
    tally.record(took, failure);
    if (took < PACE_MS) await new Promise((r) => setTimeout(r, PACE_MS - took));
  }
}

function row(label: string, ...cells: string[]): string {
  return `${label.padEnd(34)}${cells.map((c) => c.padStart(20)).join('')}`;
}

async function main(): Promise<void> {
  const { seconds, concurrency } = options();
  const durationMs = seconds * 1_000;
  const bare = { downstream: new Downstream(durationMs), tally: new Tally() };
  const guarded = { downstream: new Downstream(durationMs), tally: new Tally(), ...protection() };
  const until = performance.now() + durationMs;
  const started = performance.now();

  console.log(
    `bulwark demo: ${concurrency} workers a side for ${seconds} s against a flaky dependency\n`,
  );
  const progress = setInterval(
    () => {
      const elapsed = ((performance.now() - started) / 1000).toFixed(1).padStart(5);
      const line = `[${elapsed} s ${bare.downstream.phase().padEnd(14)}] unprotected ok ${bare.tally.ok} failed ${bare.tally.failed} | bulwark ok ${guarded.tally.ok} failed ${guarded.tally.failed}, breaker ${guarded.state()}`;
      if (process.stdout.isTTY) process.stdout.write(`\r${line.padEnd(120)}`);
      else console.log(line);
    },
    process.stdout.isTTY ? 250 : 2_000,
  );

  const workers: Promise<void>[] = [];
  for (let i = 0; i < concurrency; i++) {
    workers.push(worker(until, () => bare.downstream.call(), bare.tally));
    workers.push(
      worker(
        until,
        () => guarded.policy.execute((ctx) => guarded.downstream.call(ctx.signal)),
        guarded.tally,
      ),
    );
  }
  await Promise.all(workers);
  clearInterval(progress);
  if (process.stdout.isTTY) process.stdout.write('\n');

  const transitions = [...guarded.transitions].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  const failures = (t: Tally) => [...t.failures].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  console.log(`\n${row('', 'unprotected', 'bulwark pipeline')}`);
  console.log(row('calls made', String(bare.tally.total), String(guarded.tally.total)));
  console.log(row('calls that succeeded', String(bare.tally.ok), String(guarded.tally.ok)));
  console.log(row('success rate', bare.tally.successRate(), guarded.tally.successRate()));
  console.log(row('p50 latency', bare.tally.percentile(50), guarded.tally.percentile(50)));
  console.log(row('p99 latency', bare.tally.percentile(99), guarded.tally.percentile(99)));
  console.log(
    row(
      'requests that reached downstream',
      String(bare.downstream.calls),
      String(guarded.downstream.calls),
    ),
  );
  console.log(
    row(
      '  of them during the outage',
      String(bare.downstream.callsDuringOutage),
      String(guarded.downstream.callsDuringOutage),
    ),
  );
  console.log(row('breaker transitions', '-', transitions));
  console.log(
    row(
      'p99 latency of failures',
      bare.tally.failurePercentile(99),
      guarded.tally.failurePercentile(99),
    ),
  );
  console.log(
    '\nThe bulwark side fails fast while the circuit is open instead of hanging, so its workers make',
  );
  console.log(
    'more calls: compare the calls that succeeded, the latencies and the load on the outage.',
  );
  console.log(`\nfailures, unprotected: ${failures(bare.tally)}`);
  console.log(`failures, bulwark:     ${failures(guarded.tally)}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
