import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CircuitProcess,
  deletePrefix,
  type Event,
  startFleet,
  uniquePrefix,
  type WorkerConfig,
} from './fixtures/circuit-fleet.js';

// Four Node processes on the built packages share one circuit through the shared Redis on 6379,
// each test under a prefix of its own, deleted after it. Bounds are generous (a loaded 2-core
// machine) except the 100 ms a change takes to reach the fleet, measured between the events of
// the processes (Date.now() of one host).
const PORT = 6379;
let redis: Redis;
let prefixes: string[] = [];
let running: CircuitProcess[] = [];

beforeAll(() => {
  redis = new Redis({ host: '127.0.0.1', port: PORT });
});
afterEach(async () => {
  await Promise.all(running.map((p) => p.stop()));
  running = [];
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  prefixes = [];
});
afterAll(async () => {
  await redis.quit();
});

async function fleet(n: number, config: Partial<WorkerConfig> & { test: string }) {
  const prefix = uniquePrefix(config.test);
  prefixes.push(prefix);
  const processes = await startFleet(n, {
    port: PORT,
    prefix,
    name: 'payments',
    threshold: 3,
    halfOpenAfterMs: 1_000,
    ...config,
  });
  running.push(...processes);
  return { processes, prefix };
}

/** Every process's next `type` event from the marks on. */
function each(processes: CircuitProcess[], type: string, marks?: number[]): Promise<Event[]> {
  return Promise.all(processes.map((p, i) => p.event(type, marks?.[i] ?? 0)));
}

const marks = (processes: CircuitProcess[]) => processes.map((p) => p.mark());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function openFleet(processes: CircuitProcess[]) {
  const before = marks(processes);
  const tripped = await processes[0]!.calls({ n: 3, outcome: 'fail' });
  expect(tripped.failed).toBe(3);
  const opens = await each(processes, 'open', before);
  return { tripped, opens };
}

describe('one circuit for four processes on Redis', () => {
  it('opens the circuit in all four within 100 ms of the failures one of them saw', async () => {
    const { processes } = await fleet(4, { test: 'open' });
    const { tripped, opens } = await openFleet(processes);
    const [publisher, ...receivers] = opens;
    expect(publisher).toMatchObject({ remote: false, from: 'closed', consecutiveOpens: 1 });
    for (const r of receivers) expect(r).toMatchObject({ remote: true, consecutiveOpens: 1 });
    const delays = receivers.map((r) => r.at - publisher!.at);
    const sinceFailure = receivers.map((r) => r.at - tripped.lastSettledAt);
    console.log(
      `open reached the other 3 processes in ${delays.join(', ')} ms after the opener's event (${sinceFailure.join(', ')} ms after its failing call settled)`,
    );
    for (const d of [...delays, ...sinceFailure]) expect(d).toBeLessThan(100);
    // The three that never called fail fast too, without reaching the dependency.
    for (const p of processes.slice(1)) {
      const reply = await p.calls({ n: 5 });
      expect(reply).toMatchObject({ reached: 0, rejected: 5 });
    }
  });

  it('lets exactly one of the four probe when the open period ends, and its success closes all four', async () => {
    const { processes } = await fleet(4, { test: 'probe-ok' });
    await openFleet(processes);
    const before = marks(processes);
    await sleep(1_100);
    // 4 x 10 calls racing for the probe, which takes 1 s: every call starts before it ends.
    const startAt = Date.now() + 300;
    const replies = await Promise.all(
      processes.map((p) => p.calls({ n: 10, startAt, spacingMs: 5, probeMs: 1_000 })),
    );
    const reached = replies.reduce((n, r) => n + r.reached, 0);
    console.log(
      `calls reaching the dependency in half-open, per process: ${replies.map((r) => r.reached)}`,
    );
    expect(reached).toBe(1);
    expect(replies.reduce((n, r) => n + r.ok, 0)).toBe(1);
    expect(replies.reduce((n, r) => n + r.rejected, 0)).toBe(39);
    const closes = await each(processes, 'close', before);
    expect(closes.filter((e) => !e.remote)).toHaveLength(1);
    for (const e of closes) expect(e.from).toBe('half-open');
    for (const p of processes) expect(await p.calls({ n: 3 })).toMatchObject({ reached: 3, ok: 3 });
  });

  it('re-opens all four when the probe fails, for the next (backed-off) period', async () => {
    const { processes } = await fleet(4, {
      test: 'probe-fails',
      halfOpenAfterMs: { initialMs: 500, factor: 4 },
    });
    const { opens } = await openFleet(processes);
    for (const e of opens) expect(e.retryAfterMs).toBeCloseTo(500, -2);
    const before = marks(processes);
    await sleep(600);
    const startAt = Date.now() + 200;
    const replies = await Promise.all(
      processes.map((p) =>
        p.calls({ n: 10, startAt, spacingMs: 5, probeMs: 100, outcome: 'fail' }),
      ),
    );
    expect(replies.reduce((n, r) => n + r.reached, 0)).toBe(1);
    const reopens = await each(processes, 'open', before);
    for (const e of reopens) {
      expect(e).toMatchObject({ from: 'half-open', consecutiveOpens: 2 });
      // 500 x 4, as the prober computed it; the others convert Redis' offsets to their clocks.
      expect(e.retryAfterMs as number).toBeGreaterThan(1_950);
      expect(e.retryAfterMs as number).toBeLessThan(2_050);
    }
    // Still open well into the longer wait: nobody probes at the old 500 ms.
    await sleep(700);
    const during = await Promise.all(processes.map((p) => p.calls({ n: 3 })));
    expect(during.reduce((n, r) => n + r.reached, 0)).toBe(0);
  });

  it('isolates and resets all four from any one of them', async () => {
    const { processes } = await fleet(4, { test: 'isolate' });
    let before = marks(processes);
    await processes[1]!.command('isolate');
    const isolates = await each(processes, 'isolate', before);
    expect(isolates.filter((e) => !e.remote)).toHaveLength(1);
    for (const p of processes) expect(await p.calls({ n: 2 })).toMatchObject({ rejected: 2 });
    before = marks(processes);
    await processes[3]!.command('reset');
    await each(processes, 'close', before);
    for (const p of processes) expect(await p.calls({ n: 2 })).toMatchObject({ ok: 2 });
    // Release functions from before the reset do nothing, fleet-wide too.
    await processes[1]!.command('release');
    await sleep(200);
    for (const p of processes) expect(await p.command('state')).toMatchObject({ state: 'closed' });
  });

  it('starts a process that joins later in the stored state', async () => {
    const { processes, prefix } = await fleet(3, { test: 'late' });
    await openFleet(processes);
    const [late] = await startFleet(1, {
      port: PORT,
      prefix,
      name: 'payments',
      threshold: 3,
      halfOpenAfterMs: 1_000,
    });
    running.push(late!);
    expect(await late!.command('state')).toMatchObject({ state: 'open' });
    expect(await late!.calls({ n: 2 })).toMatchObject({ reached: 0, rejected: 2 });
  });

  it('lets another process probe once the lease of a probing process that died has run out', async () => {
    const { processes } = await fleet(4, { test: 'lease', probeLeaseMs: 1_500 });
    await openFleet(processes);
    await sleep(1_100);
    const [prober, ...others] = processes;
    const before = marks(others);
    // A probe that hangs, in a process killed while it runs.
    void prober!.calls({ n: 1, probeMs: 60_000 }).catch(() => {});
    await each(others, 'half-open', before);
    prober!.kill();
    const stuck = await Promise.all(others.map((p) => p.calls({ n: 2 })));
    expect(stuck.reduce((n, r) => n + r.reached, 0)).toBe(0);
    await sleep(1_600);
    const closing = marks(others);
    const startAt = Date.now() + 200;
    const replies = await Promise.all(
      others.map((p) => p.calls({ n: 10, startAt, spacingMs: 5, probeMs: 1_000 })),
    );
    expect(replies.reduce((n, r) => n + r.reached, 0)).toBe(1);
    await each(others, 'close', closing);
  });
});
