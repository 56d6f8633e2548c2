import { randomUUID } from 'node:crypto';
import {
  type CircuitRecord,
  type CircuitStore,
  circuitBreaker,
  consecutiveBreaker,
  memoryCircuitStore,
} from '@bulwark/circuit-breaker';
import { manualClock } from '@bulwark/core/testing';
import { type RedisCircuitStore, redisCircuitStore } from '@bulwark/redis';
import { Cluster, Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCluster } from './support/redis-server.js';

// What every CircuitStore promises a breaker, run against the memory store, the shared Redis on
// 6379 (a prefix of this run's own, deleted after) and a Redis Cluster this file starts.

interface Handles {
  /** Two views of one set of circuits: two instances of a service. */
  mine: CircuitStore;
  theirs: CircuitStore;
  /** Both watch what they were asked to, and have read the stored records. */
  ready(): Promise<void>;
  /** How far a read time may drift from the written one (Redis: real ms pass meanwhile). */
  slackMs: number;
}

type Factory = (clock: ReturnType<typeof manualClock>) => Promise<Handles>;

const record = (fields: Partial<CircuitRecord>): CircuitRecord => ({
  state: 'closed',
  version: 1,
  entered: 1,
  since: 0,
  consecutiveOpens: 0,
  halfOpenAt: 0,
  lastWaitMs: 0,
  probes: 0,
  successes: 0,
  isolations: 0,
  ...fields,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}

/** Listeners the test holds, since stores hold their watchers weakly. */
let held: unknown[] = [];

function circuitStoreContract(kind: string, open: Factory) {
  describe(`CircuitStore contract: ${kind}`, () => {
    afterEach(() => {
      held = [];
    });

    it('has no record for a circuit never written', async () => {
      const { mine } = await open(manualClock(0));
      expect(await mine.read(`never-${randomUUID()}`)).toBeUndefined();
    });

    it('writes by compare-and-set on the version: one writer of each version wins', async () => {
      const { mine, theirs } = await open(manualClock(0));
      const name = 'cas';
      expect(await mine.write(name, 1, record({ version: 2 }))).toBe(false);
      expect(await mine.read(name)).toBeUndefined();
      const first = await Promise.all([
        mine.write(name, 0, record({ state: 'open', halfOpenAt: 1_000 }), 'a'),
        theirs.write(name, 0, record({ state: 'isolated', isolations: 1 }), 'b'),
      ]);
      expect(first.filter(Boolean)).toHaveLength(1);
      const stored = (await theirs.read(name))!;
      expect(stored.version).toBe(1);
      expect(stored.state).toBe(first[0] ? 'open' : 'isolated');
      expect(await mine.write(name, 0, record({ version: 1 }))).toBe(false);
      expect(await mine.write(name, 1, record({ version: 2, entered: 2 }))).toBe(true);
      expect(await theirs.read(name)).toMatchObject({ state: 'closed', version: 2, entered: 2 });
    });

    it('keeps every field of a record, its times on the reader clock', async () => {
      const clock = manualClock(50_000);
      const { mine, theirs, slackMs } = await open(clock);
      const opened = record({
        state: 'open',
        version: 1,
        entered: 1,
        since: 49_700,
        consecutiveOpens: 3,
        halfOpenAt: 54_000,
        lastWaitMs: 4_000,
      });
      expect(await mine.write('fields', 0, opened)).toBe(true);
      const read = (await theirs.read('fields'))!;
      expect(read).toMatchObject({
        state: 'open',
        version: 1,
        entered: 1,
        consecutiveOpens: 3,
        lastWaitMs: 4_000,
        probes: 0,
        successes: 0,
        isolations: 0,
      });
      expect(read.halfOpenAt).toBeLessThanOrEqual(54_000);
      expect(read.halfOpenAt).toBeGreaterThanOrEqual(54_000 - slackMs);
      expect(read.since).toBeLessThanOrEqual(49_700);
      expect(read.since).toBeGreaterThanOrEqual(49_700 - slackMs);
      expect(read.probeLeaseUntil).toBeUndefined();
    });

    it('keeps circuits of different names apart', async () => {
      const { mine, theirs } = await open(manualClock(0));
      expect(await mine.write('apart-a', 0, record({ state: 'isolated', isolations: 1 }))).toBe(
        true,
      );
      expect(await theirs.read('apart-b')).toBeUndefined();
      expect(await theirs.write('apart-b', 0, record({}))).toBe(true);
      expect(await mine.read('apart-a')).toMatchObject({ state: 'isolated' });
    });

    it("delivers another instance's writes to its watchers, with the writer's id", async () => {
      const handles = await open(manualClock(0));
      const heard: Array<{ record: CircuitRecord; writer?: string }> = [];
      const listener = (r: CircuitRecord, writer?: string) => heard.push({ record: r, writer });
      held.push(listener);
      handles.theirs.watch!('watched', listener);
      await handles.ready();
      expect(await handles.mine.write('watched', 0, record({ state: 'open' }), 'writer-1')).toBe(
        true,
      );
      await until(() => heard.length > 0);
      expect(heard[0]).toMatchObject({
        record: { state: 'open', version: 1 },
        writer: 'writer-1',
      });
      // A refused write publishes nothing.
      expect(await handles.mine.write('watched', 0, record({}), 'writer-1')).toBe(false);
      await sleep(50);
      expect(heard).toHaveLength(1);
    });

    it('leases a half-open record for probeLeaseMs when it leases probes, and drops the lease after', async () => {
      const clock = manualClock(10_000);
      const { mine, theirs, slackMs } = await open(clock);
      expect(await mine.write('lease', 0, record({ state: 'half-open', probes: 1 }))).toBe(true);
      const leased = (await theirs.read('lease'))!;
      const leaseMs = mine.probeLeaseMs;
      if (leaseMs === undefined) {
        expect(leased.probeLeaseUntil).toBeUndefined();
      } else {
        expect(leased.probeLeaseUntil).toBeLessThanOrEqual(10_000 + leaseMs);
        expect(leased.probeLeaseUntil).toBeGreaterThanOrEqual(10_000 + leaseMs - slackMs);
      }
      expect(await mine.write('lease', 1, record({ version: 2, entered: 2 }))).toBe(true);
      expect((await theirs.read('lease'))!.probeLeaseUntil).toBeUndefined();
    });

    it('shares one circuit between breakers on two instances', async () => {
      const clock = manualClock(0);
      const handles = await open(clock);
      const options = { halfOpenAfterMs: 1_000, name: 'shared', clock };
      const a = circuitBreaker({ ...options, breaker: consecutiveBreaker(2), store: handles.mine });
      const b = circuitBreaker({
        ...options,
        breaker: consecutiveBreaker(2),
        store: handles.theirs,
      });
      await handles.ready();
      for (let i = 0; i < 2; i++) {
        await a.execute(async () => Promise.reject(new Error('down'))).catch(() => {});
      }
      expect(a.state).toBe('open');
      await until(() => b.state === 'open');
      expect(b.stats().consecutiveOpens).toBe(1);
      b.reset();
      await until(() => a.state === 'closed');
    });
  });
}

circuitStoreContract('memoryCircuitStore', async () => {
  const store = memoryCircuitStore();
  return { mine: store, theirs: store, ready: async () => {}, slackMs: 0 };
});

// Redis: two clients of their own (two instances), one prefix per test.
const redisStores: Array<{ store: RedisCircuitStore; client: Redis | Cluster }> = [];
let shared: Redis;
const prefixes: string[] = [];

async function closeStores() {
  for (const { store, client } of redisStores.splice(0)) {
    await store.close();
    client.disconnect();
  }
}

function redisHandles(connect: () => Redis | Cluster): Factory {
  return async (clock) => {
    const prefix = `test:contract-circuit:${randomUUID().slice(0, 8)}:`;
    prefixes.push(prefix);
    const [mine, theirs] = [0, 1].map(() => {
      const client = connect();
      const store = redisCircuitStore({ client, prefix, clock, probeLeaseMs: 3_000 });
      redisStores.push({ store, client });
      return store;
    }) as [RedisCircuitStore, RedisCircuitStore];
    return {
      mine,
      theirs,
      ready: () => Promise.all([mine.ready(), theirs.ready()]).then(() => {}),
      slackMs: 1_000,
    };
  };
}

describe('on the shared Redis', () => {
  beforeAll(() => {
    shared = new Redis({ host: '127.0.0.1', port: 6379 });
  });
  afterEach(closeStores);
  afterAll(async () => {
    for (const prefix of prefixes.splice(0)) {
      let cursor = '0';
      do {
        const [next, keys] = await shared.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await shared.del(...keys);
      } while (cursor !== '0');
    }
    await shared.quit();
  });
  circuitStoreContract(
    'redisCircuitStore on Redis',
    redisHandles(() => new Redis({ host: '127.0.0.1', port: 6379 })),
  );
});

describe('on a Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
  }, 60_000);
  afterEach(closeStores);
  afterAll(async () => {
    await closeStores();
    await cluster?.stop();
  }, 30_000);
  circuitStoreContract(
    'redisCircuitStore on Redis Cluster',
    redisHandles(() => new Cluster(cluster.startupNodes)),
  );
});
