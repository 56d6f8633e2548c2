import { randomUUID } from 'node:crypto';
import {
  type CircuitRecord,
  type CircuitStoreStatus,
  circuitBreaker,
  consecutiveBreaker,
} from '@bulwark/circuit-breaker';
import { BrokenCircuitError, type PolicyEvent, StoreUnavailableError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { type RedisCircuitStore, type RedisStoreEvent, redisCircuitStore } from '@bulwark/redis';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// Against the shared Redis on 6379, each test under a prefix of its own, deleted after it. Times
// inside Redis are Redis' own; the stores here run on manual clocks set far apart, as hosts
// whose clocks disagree, and must still agree on the circuit.
let redis: Redis;
let cleanup: Array<() => Promise<unknown> | unknown> = [];
const prefixes: string[] = [];

beforeAll(() => {
  redis = new Redis({ host: '127.0.0.1', port: 6379 });
});
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});
afterAll(async () => {
  for (const prefix of prefixes) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  }
  await redis.quit();
});

function newPrefix(): string {
  const prefix = `test:circuit:store:${randomUUID().slice(0, 8)}:`;
  prefixes.push(prefix);
  return prefix;
}

/** A store on a client of its own, closed after the test. */
function store(
  prefix: string,
  options: { clock?: ReturnType<typeof manualClock>; probeLeaseMs?: number } = {},
): { store: RedisCircuitStore; client: Redis } {
  const client = new Redis({ host: '127.0.0.1', port: 6379 });
  const s = redisCircuitStore({ client, prefix, ...options });
  cleanup.push(async () => {
    await s.close();
    await client.quit();
  });
  return { store: s, client };
}

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

/** Resolves with the next record `store` hears for `name`. */
function nextRecord(s: RedisCircuitStore, name: string) {
  return new Promise<{ record: CircuitRecord; writer?: string }>((resolve) => {
    const listener = (record: CircuitRecord, writer?: string) => {
      stop();
      resolve({ record, writer });
    };
    const stop = s.watch(name, listener);
    cleanup.push(() => listener); // held until the test ends: the store holds it weakly
  });
}

describe('redisCircuitStore options', () => {
  const client = new Redis({ lazyConnect: true });
  afterAll(() => client.disconnect());

  it('refuses a missing client, a prefix with braces, and bad numbers', () => {
    expect(() => redisCircuitStore({} as never)).toThrow(
      'redisCircuitStore: client must be an ioredis Redis or Cluster client (new Redis(...) or new Cluster(...)), got undefined',
    );
    expect(() => redisCircuitStore({ client, prefix: 'a{b}' })).toThrow(RangeError);
    expect(() => redisCircuitStore({ client, timeoutMs: 0 })).toThrow(
      'redisCircuitStore: timeoutMs must be a finite number > 0, got 0',
    );
    expect(() => redisCircuitStore({ client, probeLeaseMs: 1.5 })).toThrow(RangeError);
    expect(() => redisCircuitStore({ client, lease: 1 } as never)).toThrow(
      'redisCircuitStore: unknown option "lease"',
    );
    expect(() => redisCircuitStore({ client, timeout: 1 } as never)).toThrow(
      /did you mean timeoutMs/,
    );
  });

  it('puts every circuit in a hash tag of its own, with any name', () => {
    const s = redisCircuitStore({ client, prefix: 'p:' });
    expect(s.redisKey('payments')).toBe('p:{payments}');
    expect(s.redisKey('a{b}%c')).toBe('p:{a%7Bb%7D%25c}');
    expect(redisCircuitStore({ client }).redisKey('x')).toBe('bulwark:circuit:{x}');
    const anyName = fc
      .array(
        fc.oneof(
          fc.constantFrom(0x7b, 0x7d, 0x25, 0xd83d, 0xde00),
          fc.integer({ min: 0, max: 0xffff }),
        ),
        {
          maxLength: 10,
        },
      )
      .map((codes) => String.fromCharCode(...codes));
    fc.assert(
      fc.property(anyName, anyName, (a, b) => {
        const [ka, kb] = [s.redisKey(a), s.redisKey(b)];
        for (const k of [ka, kb]) {
          expect(k.startsWith('p:{') && k.endsWith('}')).toBe(true);
          expect(k.slice(3, -1)).not.toMatch(/[{}]/);
          expect(Buffer.from(k).toString()).toBe(k); // no lone surrogate left
        }
        expect(ka === kb).toBe(a === b);
      }),
    );
  });
});

describe('redisCircuitStore on Redis', () => {
  it('writes by compare-and-set on the version', async () => {
    const { store: s } = store(newPrefix());
    expect(await s.read('c')).toBeUndefined();
    expect(await s.write('c', 1, record({ version: 2 }))).toBe(false);
    expect(await s.write('c', 0, record({ version: 1 }))).toBe(true);
    expect(await s.write('c', 0, record({ version: 1 }))).toBe(false);
    expect(await s.read('c')).toMatchObject({ state: 'closed', version: 1 });
    expect(await s.write('c', 1, record({ version: 2, state: 'isolated', isolations: 2 }))).toBe(
      true,
    );
    expect(await s.read('c')).toMatchObject({ state: 'isolated', version: 2, isolations: 2 });
  });

  it('translates clock times through Redis time, so hosts with skewed clocks agree', async () => {
    const prefix = newPrefix();
    const here = manualClock(1_000_000);
    const there = manualClock(9_000_000_000); // another host, its clock far off
    const { store: a } = store(prefix, { clock: here });
    const { store: b } = store(prefix, { clock: there });
    const opened = record({
      state: 'open',
      since: here.now() - 300, // opened 300 ms ago
      halfOpenAt: here.now() + 5_000, // may probe in 5 s
      consecutiveOpens: 2,
      lastWaitMs: 5_000,
    });
    expect(await a.write('c', 0, opened)).toBe(true);
    const read = (await b.read('c'))!;
    // Up to a few ms of real time pass between the write and the read.
    expect(read.halfOpenAt - there.now()).toBeGreaterThan(4_900);
    expect(read.halfOpenAt - there.now()).toBeLessThanOrEqual(5_000);
    expect(there.now() - read.since).toBeGreaterThanOrEqual(300);
    expect(there.now() - read.since).toBeLessThan(400);
    expect(read).toMatchObject({ consecutiveOpens: 2, lastWaitMs: 5_000 });
    expect(read.probeLeaseUntil).toBeUndefined();
    // Redis holds its own clock's times, not either host's.
    const [since, halfOpenAt] = await redis.hmget(a.redisKey('c'), 't', 'h');
    const [seconds] = await redis.time();
    expect(Math.abs(Number(since) - Number(seconds) * 1_000)).toBeLessThan(10_000);
    expect(Number(halfOpenAt) - Number(since)).toBeCloseTo(5_300, -1);
  });

  it('publishes every write, with its writer, to the stores watching that circuit', async () => {
    const prefix = newPrefix();
    const { store: a } = store(prefix);
    const { store: b } = store(prefix, { clock: manualClock(42) });
    const heard = nextRecord(b, 'c');
    await b.ready();
    const opened = record({ state: 'open', since: Date.now(), halfOpenAt: Date.now() + 2_000 });
    expect(await a.write('c', 0, opened, 'writer-1')).toBe(true);
    const { record: got, writer } = await heard;
    expect(writer).toBe('writer-1');
    expect(got).toMatchObject({ state: 'open', version: 1 });
    expect(got.halfOpenAt - 42).toBeGreaterThan(1_900);
    expect(got.halfOpenAt - 42).toBeLessThanOrEqual(2_000);
  });

  it('reads the stored record once it has subscribed, so a change written before is not missed', async () => {
    const prefix = newPrefix();
    const { store: a } = store(prefix);
    const { store: b } = store(prefix);
    await a.write('c', 0, record({ state: 'isolated', isolations: 1 }));
    const heard = nextRecord(b, 'c');
    await b.ready();
    expect(await heard).toMatchObject({
      record: { state: 'isolated', version: 1 },
      writer: undefined,
    });
  });

  it('subscribes on a connection of its own: the client it was given still answers commands', async () => {
    const prefix = newPrefix();
    const { store: s, client } = store(prefix);
    const listener = () => {};
    s.watch('c', listener);
    await s.ready();
    expect(await client.ping()).toBe('PONG');
    const [, subscribers] = (await redis.pubsub('NUMSUB', `${s.redisKey('c')}:changes`)) as [
      string,
      number,
    ];
    expect(subscribers).toBe(1);
  });

  it('unsubscribes once the last breaker of a circuit stops watching', async () => {
    const { store: s } = store(newPrefix());
    const listener = () => {};
    const stop = s.watch('c', listener);
    await s.ready();
    const channel = `${s.redisKey('c')}:changes`;
    expect(await redis.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
    stop();
    for (let i = 0; i < 50 && (await redis.pubsub('NUMSUB', channel))[1] !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await redis.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
  });

  it('leases a half-open circuit for probeLeaseMs from each write, and drops the lease when it leaves', async () => {
    const clock = manualClock(0);
    const { store: s } = store(newPrefix(), { clock, probeLeaseMs: 3_000 });
    await s.write('c', 0, record({ state: 'half-open', probes: 1 }));
    const leased = (await s.read('c'))!;
    expect(leased.probeLeaseUntil).toBeGreaterThan(2_900);
    expect(leased.probeLeaseUntil).toBeLessThanOrEqual(3_000);
    await s.write('c', 1, record({ state: 'closed', version: 2, entered: 2 }));
    expect((await s.read('c'))!.probeLeaseUntil).toBeUndefined();
  });

  it('fails a read it cannot parse without calling Redis down', async () => {
    const { store: s } = store(newPrefix());
    await redis.hset(s.redisKey('c'), 's', 'melted', 'v', '1');
    const error = await s.read('c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(s.available).toBe(true);
  });

  it('fails at once while its client is not connected, without queueing, and says so to watchers', async () => {
    // A client that connected once and lost its server: ioredis is reconnecting.
    const client = new Redis({ host: '127.0.0.1', port: 6379, retryStrategy: () => 60_000 });
    client.on('error', () => {});
    const s = redisCircuitStore({ client, prefix: newPrefix(), timeoutMs: 100 });
    cleanup.push(async () => {
      await s.close();
      client.disconnect();
    });
    const statuses: CircuitStoreStatus[] = [];
    const onStatus = (status: CircuitStoreStatus) => statuses.push(status);
    const events: RedisStoreEvent[] = [];
    s.on((e) => events.push(e));
    const listener = () => {};
    s.watch('c', listener, onStatus);
    await s.ready();
    expect(await s.read('c')).toBeUndefined();
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.disconnect(true); // reconnects in a minute
    await closed;
    const started = performance.now();
    const error = await s.write('c', 0, record({})).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(50);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(s.available).toBe(false);
    expect(statuses).toEqual([{ available: false, error: expect.any(Error) }]);
    // Once for the outage, whatever found it first (the subscription or the write).
    expect(events).toEqual([
      expect.objectContaining({
        type: 'store-error',
        store: 'redisCircuitStore',
        onStoreError: 'local',
      }),
    ]);
    cleanup.push(() => [listener, onStatus]);
  });

  it('follows each change of another store through pub/sub alone, and a dropped lease lets a breaker probe', async () => {
    const prefix = newPrefix();
    const clockA = manualClock(1_000);
    const clockB = manualClock(50_000_000);
    const { store: sa } = store(prefix, { clock: clockA, probeLeaseMs: 1_000 });
    const { store: sb } = store(prefix, { clock: clockB, probeLeaseMs: 1_000 });
    const options = { halfOpenAfterMs: 2_000, name: 'svc' };
    const a = circuitBreaker({
      ...options,
      breaker: consecutiveBreaker(1),
      store: sa,
      clock: clockA,
    });
    const b = circuitBreaker({
      ...options,
      breaker: consecutiveBreaker(1),
      store: sb,
      clock: clockB,
    });
    const heardB: PolicyEvent[] = [];
    b.on((e) => heardB.push(e));
    await Promise.all([sa.ready(), sb.ready()]);
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(check()).toBe(true);
    };

    await a.execute(async () => Promise.reject(new Error('down'))).catch(() => {});
    await until(() => b.state === 'open');
    expect(heardB.at(-1)).toMatchObject({ type: 'open', remote: true, retryAfterMs: 2_000 });
    expect(b.stats().consecutiveOpens).toBe(1);

    // b's clock says the wait is over; a's has not moved. b claims the probe, which hangs.
    await clockB.advance(2_000);
    let release!: () => void;
    const hanging = b.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await until(() => a.state === 'half-open');
    await expect(a.execute(async () => 'a')).rejects.toBeInstanceOf(BrokenCircuitError);
    await clockA.advance(900);
    await expect(a.execute(async () => 'a')).rejects.toBeInstanceOf(BrokenCircuitError);
    // The lease (1 s, on a's clock from when a heard of the claim) runs out: a probes.
    await clockA.advance(100);
    expect(await a.execute(async () => 'a probed')).toBe('a probed');
    await until(() => b.state === 'closed');
    release();
    await hanging;
    expect(b.state).toBe('closed'); // the late probe counted for nothing
  });

  it('keeps a slow probe leased while it runs: its breaker renews the lease, so no other takes over', async () => {
    const prefix = newPrefix();
    const clockA = manualClock(1_000);
    const clockB = manualClock(70_000_000);
    const { store: sa } = store(prefix, { clock: clockA, probeLeaseMs: 1_000 });
    const { store: sb } = store(prefix, { clock: clockB, probeLeaseMs: 1_000 });
    const options = { halfOpenAfterMs: 2_000, name: 'svc', breaker: consecutiveBreaker(1) };
    const a = circuitBreaker({ ...options, store: sa, clock: clockA });
    const b = circuitBreaker({
      ...options,
      breaker: consecutiveBreaker(1),
      store: sb,
      clock: clockB,
    });
    await Promise.all([sa.ready(), sb.ready()]);
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(check()).toBe(true);
    };
    await a.execute(async () => Promise.reject(new Error('down'))).catch(() => {});
    await until(() => b.state === 'open');
    await clockB.advance(2_000);
    let release!: () => void;
    const slowProbe = b.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await until(() => a.state === 'half-open');
    await clockA.advance(900);
    // b's probe is still running: its breaker renews the lease a third of the way through.
    const before = await sa.read('svc');
    await clockB.advance(400);
    for (let i = 0; i < 200; i++) {
      const now = await sa.read('svc');
      if ((now?.version ?? 0) > (before?.version ?? 0)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect((await sa.read('svc'))!.version).toBeGreaterThan(before!.version);
    await clockA.advance(200); // past the first lease: a renewed one still holds
    await expect(a.execute(async () => 'a')).rejects.toBeInstanceOf(BrokenCircuitError);
    release();
    await slowProbe;
    await until(() => a.state === 'closed');
    expect(b.state).toBe('closed');
  });
});
