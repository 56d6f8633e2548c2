import {
  type Breaker,
  type CircuitBreaker,
  type CircuitState,
  circuitBreaker,
  consecutiveBreaker,
  failureRateBreaker,
} from '@bulwark/circuit-breaker';
import { BrokenCircuitError } from '@bulwark/core';
import { type ManualClock, manualClock } from '@bulwark/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Deferred, deferred, rejection } from './helpers.js';

/**
 * A model of the breaker's state machine, run against the real breaker by fast-check: calls
 * that start and settle (succeed, fail, run slow, get aborted) in any interleaving, time that
 * passes, isolations, releases and resets.
 */

const SLOW_CALL_MS = 100;
const waitMs = (opens: number) => 200 * opens;

type Strategy =
  | { kind: 'consecutive'; threshold: number }
  | { kind: 'rate'; size: number; minimumCalls: number; threshold: number; slowRate: number };

interface Config {
  strategy: Strategy;
  maxProbes: number;
}

interface ModelCall {
  start: number;
  stretch: number;
  probe: boolean;
}

interface Model {
  config: Config;
  now: number;
  state: CircuitState;
  /** Counts every state entered, as the breaker tells one stretch of a state from the next. */
  stretch: number;
  outcomes: Array<{ failed: boolean; slow: boolean }>;
  consecutiveOpens: number;
  halfOpenAt: number;
  probes: number;
  successes: number;
  isolations: number;
  calls: ModelCall[];
  holds: Array<{ stretch: number; released: boolean }>;
}

interface RealCall {
  work: Deferred<string>;
  controller: AbortController | undefined;
  result: Promise<unknown>;
  /** The half-open stretch it probes in, if it is a probe. */
  probeOf: number | undefined;
}

interface Real {
  clock: ManualClock;
  breaker: CircuitBreaker;
  calls: RealCall[];
  releases: Array<() => void>;
  observed: CircuitState;
  halfOpens: number;
  violations: string[];
  maxRunningProbes: number;
}

const LEGAL = new Set([
  'closed>open',
  'open>half-open',
  'half-open>open',
  'half-open>closed',
  'closed>isolated',
  'open>isolated',
  'half-open>isolated',
  'isolated>closed',
  'open>closed', // reset
]);
const STATE_OF_EVENT: Record<string, CircuitState> = {
  open: 'open',
  'half-open': 'half-open',
  close: 'closed',
  isolate: 'isolated',
};

function strategyOf(s: Strategy): Breaker {
  return s.kind === 'consecutive'
    ? consecutiveBreaker(s.threshold)
    : failureRateBreaker({
        window: { calls: s.size },
        minimumCalls: s.minimumCalls,
        threshold: s.threshold,
        slowCallMs: SLOW_CALL_MS,
        slowCallRateThreshold: s.slowRate,
      });
}

// --- the model's rules -------------------------------------------------------------------

function trips(m: Model): boolean {
  const s = m.config.strategy;
  if (s.kind === 'consecutive') {
    let run = 0;
    for (let i = m.outcomes.length - 1; i >= 0 && m.outcomes[i]!.failed; i--) run++;
    return m.outcomes.at(-1)!.failed && run >= s.threshold;
  }
  const last = m.outcomes.slice(-s.size);
  const calls = last.length;
  const failures = last.filter((o) => o.failed).length;
  const slow = last.filter((o) => o.slow).length;
  return (
    calls >= Math.min(s.minimumCalls, s.size) &&
    (failures / calls >= s.threshold || slow / calls >= s.slowRate)
  );
}

function enter(m: Model, state: CircuitState): void {
  m.stretch++;
  m.state = state;
  m.probes = 0;
  m.successes = 0;
}

function open(m: Model): void {
  enter(m, 'open');
  m.consecutiveOpens++;
  m.halfOpenAt = m.now + waitMs(m.consecutiveOpens);
}

function close(m: Model): void {
  enter(m, 'closed');
  m.outcomes = [];
  m.consecutiveOpens = 0;
  m.isolations = 0;
}

/** Whether the breaker lets a call starting now through, and as what. */
function admit(m: Model): ModelCall | undefined {
  if (m.state === 'closed') return { start: m.now, stretch: m.stretch, probe: false };
  if (m.state === 'open' && m.now >= m.halfOpenAt) {
    enter(m, 'half-open');
    m.probes = 1;
    return { start: m.now, stretch: m.stretch, probe: true };
  }
  if (m.state === 'half-open' && m.probes + m.successes < m.config.maxProbes) {
    m.probes++;
    return { start: m.now, stretch: m.stretch, probe: true };
  }
  return undefined;
}

type Outcome = 'success' | 'failure' | 'abort';

function settle(m: Model, call: ModelCall, outcome: Outcome): void {
  if (call.stretch !== m.stretch) return;
  const slow = m.config.strategy.kind === 'rate' && m.now - call.start > SLOW_CALL_MS;
  if (!call.probe) {
    if (outcome === 'abort') return;
    m.outcomes.push({ failed: outcome === 'failure', slow });
    if (trips(m)) open(m);
  } else if (outcome === 'abort') {
    m.probes--;
  } else if (outcome === 'failure' || slow) {
    open(m);
  } else if (m.successes + 1 >= m.config.maxProbes) {
    close(m);
  } else {
    m.probes--;
    m.successes++;
  }
}

function windowCounts(m: Model): { calls: number; failures: number } {
  const s = m.config.strategy;
  const last = s.kind === 'rate' ? m.outcomes.slice(-s.size) : m.outcomes;
  return { calls: last.length, failures: last.filter((o) => o.failed).length };
}

// --- commands --------------------------------------------------------------------------------

async function agree(m: Model, r: Real): Promise<void> {
  await r.clock.flush();
  expect(r.violations).toEqual([]);
  expect(r.breaker.state).toBe(m.state);
  const stats = r.breaker.stats();
  expect(stats.consecutiveOpens).toBe(m.consecutiveOpens);
  expect({ calls: stats.calls, failures: stats.failures }).toEqual(windowCounts(m));
  const running = r.calls.filter((c) => c.probeOf === r.halfOpens && c.probeOf > 0).length;
  if (m.state === 'half-open') expect(running).toBeLessThanOrEqual(m.config.maxProbes);
  expect(r.maxRunningProbes).toBeLessThanOrEqual(m.config.maxProbes);
}

/** Starts a call; true when the breaker let it through. */
async function start(m: Model, r: Real, abortable: boolean): Promise<boolean> {
  const expected = admit(m);
  const work = deferred<string>();
  const controller = abortable ? new AbortController() : undefined;
  let reached = false;
  const result = r.breaker.execute(
    () => {
      reached = true;
      return work.promise;
    },
    { signal: controller?.signal },
  );
  result.catch(() => {});
  expect(reached).toBe(expected !== undefined);
  if (expected === undefined) {
    // Rejected calls never reach fn.
    expect(await rejection(result)).toBeInstanceOf(BrokenCircuitError);
    return false;
  }
  m.calls.push(expected);
  const probeOf = r.breaker.state === 'half-open' ? r.halfOpens : undefined;
  r.calls.push({ work, controller, result, probeOf });
  if (probeOf !== undefined) {
    const running = r.calls.filter((c) => c.probeOf === probeOf).length;
    r.maxRunningProbes = Math.max(r.maxRunningProbes, running);
  }
  return true;
}

async function finish(m: Model, r: Real, index: number, outcome: Outcome): Promise<void> {
  const call = r.calls[index]!;
  const modelCall = m.calls[index]!;
  r.calls.splice(index, 1);
  m.calls.splice(index, 1);
  const effective = outcome === 'abort' && call.controller === undefined ? 'failure' : outcome;
  if (effective === 'success') call.work.resolve('ok');
  else if (effective === 'failure') call.work.reject(new Error('down'));
  else {
    call.controller!.abort(new Error('caller left'));
    call.work.reject(new Error('work abandoned'));
  }
  await r.clock.flush();
  settle(m, modelCall, effective);
}

type Command = fc.AsyncCommand<Model, Real>;

const startCall = (abortable: boolean): Command => ({
  check: (m) => m.calls.length < 6,
  async run(m, r) {
    await start(m, r, abortable);
    await agree(m, r);
  },
  toString: () => `start(${abortable ? 'abortable' : ''})`,
});

const settleCall = (pick: number, outcome: Outcome): Command => ({
  check: (m) => m.calls.length > 0,
  async run(m, r) {
    await finish(m, r, pick % m.calls.length, outcome);
    await agree(m, r);
  },
  toString: () => `settle(${pick}, ${outcome})`,
});

const call = (outcome: 'success' | 'failure', slow: boolean): Command => ({
  check: (m) => m.calls.length < 6,
  async run(m, r) {
    if (await start(m, r, false)) {
      if (slow) {
        await r.clock.advance(SLOW_CALL_MS + 1);
        m.now += SLOW_CALL_MS + 1;
      }
      await finish(m, r, m.calls.length - 1, outcome);
    }
    await agree(m, r);
  },
  toString: () => `call(${outcome}${slow ? ', slow' : ''})`,
});

const advance = (ms: number): Command => ({
  check: () => true,
  async run(m, r) {
    await r.clock.advance(ms);
    m.now += ms;
    await agree(m, r);
  },
  toString: () => `advance(${ms})`,
});

const isolate: Command = {
  check: () => true,
  async run(m, r) {
    r.releases.push(r.breaker.isolate());
    if (m.state === 'isolated') m.isolations++;
    else {
      enter(m, 'isolated');
      m.isolations = 1;
    }
    m.holds.push({ stretch: m.stretch, released: false });
    await agree(m, r);
  },
  toString: () => 'isolate',
};

const release = (pick: number): Command => ({
  check: (m) => m.holds.length > 0,
  async run(m, r) {
    const i = pick % m.holds.length;
    r.releases[i]!();
    const hold = m.holds[i]!;
    if (!hold.released) {
      hold.released = true;
      if (m.state === 'isolated' && hold.stretch === m.stretch) {
        if (m.isolations > 1) m.isolations--;
        else close(m);
      }
    }
    await agree(m, r);
  },
  toString: () => `release(${pick})`,
});

const reset: Command = {
  check: () => true,
  async run(m, r) {
    r.breaker.reset();
    close(m);
    await agree(m, r);
  },
  toString: () => 'reset',
};

const starts = fc.boolean().map(startCall);
const settles = fc
  .tuple(fc.nat(), fc.constantFrom<Outcome>('success', 'failure', 'abort'))
  .map(([pick, outcome]) => settleCall(pick, outcome));
const calls = fc
  .tuple(fc.constantFrom<'success' | 'failure'>('success', 'failure'), fc.boolean())
  .map(([outcome, slow]) => call(outcome, slow));
// Calls weigh more than the manual controls, so runs reach half-open with probes running.
const commands = fc.commands(
  [
    starts,
    starts,
    settles,
    settles,
    calls,
    calls,
    calls,
    fc.constantFrom(1, 50, 101, 200, 600).map(advance),
    fc.constantFrom(1, 50, 101, 200, 600).map(advance),
    fc.constant(isolate),
    fc.nat().map(release),
    fc.constant(reset),
  ],
  { size: '+1' },
);

const tenths = fc.integer({ min: 1, max: 10 }).map((n) => n / 10);
const configs: fc.Arbitrary<Config> = fc.record({
  strategy: fc.oneof(
    fc.record({
      kind: fc.constant('consecutive' as const),
      threshold: fc.integer({ min: 1, max: 4 }),
    }),
    fc.record({
      kind: fc.constant('rate' as const),
      size: fc.integer({ min: 1, max: 6 }),
      minimumCalls: fc.integer({ min: 1, max: 6 }),
      threshold: tenths,
      slowRate: tenths,
    }),
  ),
  maxProbes: fc.integer({ min: 1, max: 3 }),
});

function setup(config: Config): { model: Model; real: Real } {
  const clock = manualClock();
  const breaker = circuitBreaker({
    breaker: strategyOf(config.strategy),
    halfOpenAfterMs: waitMs,
    halfOpenMaxCalls: config.maxProbes,
    clock,
  });
  const real: Real = {
    clock,
    breaker,
    calls: [],
    releases: [],
    observed: 'closed',
    halfOpens: 0,
    violations: [],
    maxRunningProbes: 0,
  };
  breaker.on((event) => {
    const to = STATE_OF_EVENT[event.type];
    if (to === undefined) return;
    // No skipped state: every change starts where the last one ended, along a legal edge.
    if (event.from !== real.observed)
      real.violations.push(`${event.type} from ${String(event.from)}, was ${real.observed}`);
    if (!LEGAL.has(`${real.observed}>${to}`)) real.violations.push(`${real.observed} -> ${to}`);
    real.observed = to;
    if (to === 'half-open') real.halfOpens++;
  });
  const model: Model = {
    config,
    now: 0,
    state: 'closed',
    stretch: 0,
    outcomes: [],
    consecutiveOpens: 0,
    halfOpenAt: 0,
    probes: 0,
    successes: 0,
    isolations: 0,
    calls: [],
    holds: [],
  };
  return { model, real };
}

describe('circuit breaker state machine (model-based)', () => {
  it('behaves as the model under any sequence of calls, time, isolations and resets', async () => {
    await fc.assert(
      fc.asyncProperty(configs, commands, async (config, cmds) => {
        await fc.asyncModelRun(() => setup(config), cmds);
      }),
      { numRuns: 500 },
    );
  });
});
