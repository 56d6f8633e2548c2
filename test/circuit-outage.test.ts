import { type CircuitBreaker, circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import type { PolicyEvent } from '@bulwark/core';
import { type RedisCircuitStore, type RedisStoreEvent, redisCircuitStore } from '@bulwark/redis';
import { Redis, type RedisOptions } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type CircuitProcess, type Event, startFleet } from './fixtures/circuit-fleet.js';
import { RedisServer } from './support/redis-server.js';

// A Redis of the test's own on a free port, killed or frozen (SIGSTOP) mid-test and brought
// back; the shared one on 6379 is never touched. Each decision a breaker makes (a call that
// trips it, a probe claim, isolate) returns within timeoutMs + 50 ms while Redis is away; the
// breaker goes on alone, says so once per outage, and rejoins the fleet's circuit when Redis is
// back, without a restart: with ioredis' defaults and with each client setting users reach for.
const timeoutMs = 200;
const bound = timeoutMs + 50;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const clientSettings: Array<[string, RedisOptions]> = [
  ['defaults', {}],
  ['enableOfflineQueue: false', { enableOfflineQueue: false }],
  ['commandTimeout: 50', { commandTimeout: 50 }],
  ['maxRetriesPerRequest: 0', { maxRetriesPerRequest: 0 }],
];

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

describe('a shared circuit while Redis is away: four processes', () => {
  it.each(clientSettings)(
    'leaves each process on its own breaker while Redis is dead, and shares the circuit again once it is back (ioredis %s)',
    async (_, clientOptions) => {
      const server = await privateRedis();
      const processes = await startFleet(4, {
        port: server.port,
        prefix: 'svc:',
        name: 'payments',
        threshold: 3,
        halfOpenAfterMs: 1_000,
        timeoutMs,
        clientOptions,
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
      await each(processes, 'store:store-error', before);

      // a's dependency fails: a opens alone, and its calls never wait for Redis.
      const aFailed = await a.calls({ n: 3, outcome: 'fail' });
      expect(aFailed).toMatchObject({ failed: 3 });
      expect(aFailed.slowestMs).toBeLessThan(bound);
      expect(await a.event('open', before[0])).toMatchObject({ remote: false, from: 'closed' });
      expect(await a.calls({ n: 2 })).toMatchObject({ reached: 0, rejected: 2 });
      await sleep(300);
      for (const p of [b, c, d])
        expect(await p.command('state')).toMatchObject({ state: 'closed' });
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
      await each(processes, 'store:store-recovered', before);
      // Once per outage, from the breaker and from its store.
      for (const p of processes) {
        const seen = p.events.map((e) => e.event).filter((t) => t.includes('store-'));
        expect(seen.sort()).toEqual([
          'store-error',
          'store-recovered',
          'store:store-error',
          'store:store-recovered',
        ]);
      }
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
    },
    120_000,
  );
});

/** One instance of a service in this process: its own client, store and breaker. */
interface Instance {
  breaker: CircuitBreaker;
  store: RedisCircuitStore;
  events: PolicyEvent[];
  storeEvents: RedisStoreEvent[];
}

async function instance(port: number, clientOptions: RedisOptions): Promise<Instance> {
  const client = new Redis({ host: '127.0.0.1', port, ...clientOptions });
  client.on('error', () => {});
  const store = redisCircuitStore({ client, prefix: 'svc:', timeoutMs });
  cleanup.push(async () => {
    await store.close();
    client.disconnect();
  });
  const breaker = circuitBreaker({
    breaker: consecutiveBreaker(3),
    halfOpenAfterMs: 500,
    store,
    name: 'payments',
  });
  const events: PolicyEvent[] = [];
  breaker.on((e) => {
    if (e.type !== 'rejected') events.push(e);
  });
  const storeEvents: RedisStoreEvent[] = [];
  store.on((e) => storeEvents.push(e));
  await store.ready();
  return { breaker, store, events, storeEvents };
}

const failing = async () => {
  throw new Error('dependency down');
};

/** How long `decision` took, in ms of real time, and its result. */
async function timed<T>(decision: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await decision();
  return { ms: performance.now() - started, value };
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const count = (events: Array<{ type: string }>, type: string) =>
  events.filter((e) => e.type === type).length;

describe.each(clientSettings)('a breaker on a private Redis, ioredis %s', (_, clientOptions) => {
  it.each([
    ['killed, then restarted empty', 'kill'],
    ['frozen (SIGSTOP), then thawed', 'freeze'],
  ] as const)(
    'decides within timeoutMs + 50 ms while Redis is %s, goes on alone, and rejoins',
    async (_how, fault) => {
      const server = await privateRedis();
      const a = await instance(server.port, clientOptions);
      const b = await instance(server.port, clientOptions);

      if (fault === 'kill') await server.kill();
      else server.freeze();

      // The call that trips it: open at once, whatever Redis does.
      for (let i = 0; i < 2; i++) await a.breaker.execute(failing).catch(() => {});
      const trip = await timed(() => a.breaker.execute(failing).catch(() => 'failed'));
      expect(trip.value).toBe('failed');
      expect(trip.ms).toBeLessThan(bound);
      expect(a.breaker.state).toBe('open');
      // b's calls pass meanwhile: a passing call never touches Redis.
      expect(await b.breaker.execute(async () => 'ok')).toBe('ok');
      expect(b.breaker.state).toBe('closed');
      await until('a to find Redis away', () => count(a.events, 'store-error') === 1);
      expect(a.store.available).toBe(false);

      // The probe claim: the one decision that waits for Redis, never longer than timeoutMs.
      await sleep(550);
      const probe = await timed(() => a.breaker.execute(async () => 'probed'));
      expect(probe.value).toBe('probed');
      expect(probe.ms).toBeLessThan(bound);
      expect(a.breaker.state).toBe('closed'); // alone: the fleet never heard of it

      // isolate, release and reset: at once.
      const isolate = await timed(() => a.breaker.isolate());
      expect(isolate.ms).toBeLessThan(bound);
      expect(a.breaker.state).toBe('isolated');
      isolate.value();
      expect(a.breaker.state).toBe('closed');
      await sleep(timeoutMs + 100);

      if (fault === 'kill') await server.start();
      else server.thaw();
      await until('both to rejoin', () =>
        [a, b].every(
          (i) =>
            count(i.events, 'store-recovered') === count(i.events, 'store-error') &&
            i.store.available,
        ),
      );
      // Once per outage, from the breaker and from its store.
      for (const i of [a, b]) {
        expect(count(i.events, 'store-error')).toBeLessThanOrEqual(1);
        expect(count(i.storeEvents, 'store-error')).toBe(count(i.events, 'store-error'));
        expect(count(i.storeEvents, 'store-recovered')).toBe(count(i.storeEvents, 'store-error'));
      }
      expect(count(a.events, 'store-error')).toBe(1);
      // Both hold what Redis holds. The write a gave up on may still land: a frozen Redis runs
      // what was sent to it once thawed, and ioredis sends unanswered commands again after it
      // reconnects; at worst a stale open, which probes after halfOpenAfterMs.
      await sleep(100);
      const stored = (await a.store.read('payments'))?.state ?? 'closed';
      expect([a.breaker.state, b.breaker.state]).toEqual([stored, stored]);
      expect(['closed', 'open']).toContain(stored);

      // One circuit again: b trips it, a follows; a resets it, b follows.
      b.breaker.reset();
      await until('a to follow the reset', () => a.breaker.state === 'closed');
      const before = a.events.length;
      for (let i = 0; i < 3; i++) await b.breaker.execute(failing).catch(() => {});
      expect(b.breaker.state).toBe('open');
      await until('a to follow the open', () => a.breaker.state === 'open', 2_000);
      expect(a.events.slice(before).find((e) => e.type === 'open')).toMatchObject({ remote: true });
      a.breaker.reset();
      await until('b to follow the reset', () => b.breaker.state === 'closed', 2_000);
    },
    60_000,
  );
});
