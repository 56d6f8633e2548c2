import { circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import type { PolicyEvent } from '@bulwark/core';
import { redisCircuitStore } from '@bulwark/redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type CircuitProcess, type Event, startFleet } from './fixtures/circuit-fleet.js';
import { RedisServer } from './support/redis-server.js';

// A Redis of the test's own on a free port, killed or frozen mid-test and brought back; the
// shared one on 6379 is never touched.
const timeoutMs = 200;
// What "within timeoutMs" may stretch to on a loaded machine.
const bound = timeoutMs + 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function privateRedis(): Promise<RedisServer> {
  const server = await RedisServer.start();
  cleanup.push(() => server.stop());
  return server;
}

const marks = (processes: CircuitProcess[]) => processes.map((p) => p.mark());
function each(processes: CircuitProcess[], type: string, from: number[]): Promise<Event[]> {
  return Promise.all(processes.map((p, i) => p.event(type, from[i], 30_000)));
}

describe('a shared circuit while Redis is away', () => {
  it('leaves each process on its own breaker while Redis is dead, and shares the circuit again once it is back', async () => {
    const server = await privateRedis();
    const processes = await startFleet(4, {
      port: server.port,
      prefix: 'svc:',
      name: 'payments',
      threshold: 3,
      halfOpenAfterMs: 1_000,
      timeoutMs,
    });
    cleanup.push(() => Promise.all(processes.map((p) => p.stop())).then(() => {}));
    const [a, b, c, d] = processes as [
      CircuitProcess,
      CircuitProcess,
      CircuitProcess,
      CircuitProcess,
    ];

    let before = marks(processes);
    await server.kill();
    // Each says so at once: its store lost the connection it listens on.
    await each(processes, 'store-error', before);

    // a's dependency fails: a opens alone, and its calls never wait for Redis.
    const aFailed = await a.calls({ n: 3, outcome: 'fail' });
    expect(aFailed).toMatchObject({ failed: 3 });
    expect(aFailed.slowestMs).toBeLessThan(bound);
    expect(await a.event('open', before[0])).toMatchObject({ remote: false, from: 'closed' });
    expect(await a.calls({ n: 2 })).toMatchObject({ reached: 0, rejected: 2 });
    await sleep(300);
    for (const p of [b, c, d]) expect(await p.command('state')).toMatchObject({ state: 'closed' });
    expect(await b.calls({ n: 2 })).toMatchObject({ reached: 2, ok: 2 });
    // ...and probes on its own when its open period ends.
    await sleep(1_000);
    const probe = await a.calls({ n: 1 });
    expect(probe).toMatchObject({ reached: 1, ok: 1 });
    expect(probe.slowestMs).toBeLessThan(bound);
    expect(await a.command('state')).toMatchObject({ state: 'closed', available: false });
    // b opens alone too.
    await b.calls({ n: 3, outcome: 'fail' });
    expect(await b.command('state')).toMatchObject({ state: 'open' });
    expect(await c.command('state')).toMatchObject({ state: 'closed' });

    before = marks(processes);
    await server.start(); // same port, empty
    const recovered = await each(processes, 'store-recovered', before);
    console.log(`rejoined after ${recovered.map((e) => Math.round(e.downMs as number))} ms away`);
    // Redis came back empty: its closed circuit wins over what b did alone.
    for (const p of processes) {
      expect(await p.command('state')).toMatchObject({ state: 'closed', available: true });
    }

    before = marks(processes);
    await c.calls({ n: 3, outcome: 'fail' });
    const opens = await each(processes, 'open', before);
    const publisher = opens[2]!;
    expect(publisher.remote).toBe(false);
    for (const e of [opens[0]!, opens[1]!, opens[3]!]) {
      expect(e.remote).toBe(true);
      expect(e.at - publisher.at).toBeLessThan(100);
    }
    expect(await d.calls({ n: 2 })).toMatchObject({ reached: 0, rejected: 2 });
  }, 90_000);

  it('gives up on a Redis that stops answering after timeoutMs, goes on alone, and rejoins when it answers', async () => {
    const server = await privateRedis();
    const client = new Redis({ host: '127.0.0.1', port: server.port });
    client.on('error', () => {});
    const store = redisCircuitStore({ client, prefix: 'svc:', timeoutMs });
    cleanup.push(async () => {
      await store.close();
      client.disconnect();
    });
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(2),
      halfOpenAfterMs: 500,
      store,
      name: 'payments',
    });
    const events: PolicyEvent[] = [];
    breaker.on((e) => events.push(e));
    await store.ready();

    server.freeze();
    const failing = async () => {
      throw new Error('dependency down');
    };
    for (let i = 0; i < 2; i++) await breaker.execute(failing).catch(() => {});
    const started = performance.now();
    while (breaker.state !== 'open') {
      expect(performance.now() - started).toBeLessThan(bound);
      await sleep(10);
    }
    expect(performance.now() - started).toBeGreaterThanOrEqual(timeoutMs - 20);
    expect(events.map((e) => e.type)).toEqual(['store-error', 'open']);
    expect(store.available).toBe(false);

    // The probe does not wait for Redis again: the store knows it is away.
    await sleep(600);
    const probeStarted = performance.now();
    expect(await breaker.execute(async () => 'ok')).toBe('ok');
    expect(performance.now() - probeStarted).toBeLessThan(bound);
    expect(breaker.state).toBe('closed');

    server.thaw();
    const thawed = performance.now();
    while (!events.some((e) => e.type === 'store-recovered')) {
      expect(performance.now() - thawed).toBeLessThan(20_000);
      await sleep(20);
    }
    expect(store.available).toBe(true);
    // The write that timed out reached Redis late; the breaker holds what Redis holds.
    await sleep(100);
    expect(breaker.state).toBe((await store.read('payments'))?.state ?? 'closed');
  }, 60_000);
});
