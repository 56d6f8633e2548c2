import { circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import { redisCircuitStore } from '@bulwark/redis';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type CircuitProcess,
  deletePrefix,
  startFleet,
  uniquePrefix,
} from './fixtures/circuit-fleet.js';

// The check, on the shared Redis on 6379 under prefixes of this test's own: a breaker
// on Redis opens on the failure that trips it, without waiting for Redis to answer.
const PORT = 6379;
let redis: Redis;
let prefixes: string[] = [];
let cleanup: Array<() => Promise<unknown> | unknown> = [];

beforeAll(() => {
  redis = new Redis({ host: '127.0.0.1', port: PORT });
});
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
  for (const prefix of prefixes) await deletePrefix(redis, prefix);
  prefixes = [];
});
afterAll(async () => {
  await redis.quit();
});

function prefixFor(test: string): string {
  const prefix = uniquePrefix(test);
  prefixes.push(prefix);
  return prefix;
}

describe('a Redis-backed breaker in a tight loop of failing calls', () => {
  it('lets exactly 3 calls reach fn and is open right after the 3rd', async () => {
    const client = new Redis({ host: '127.0.0.1', port: PORT });
    const store = redisCircuitStore({ client, prefix: prefixFor('loop') });
    cleanup.push(async () => {
      await store.close();
      await client.quit();
    });
    const breaker = circuitBreaker({
      breaker: consecutiveBreaker(3),
      halfOpenAfterMs: 30_000,
      store,
      name: 'payments',
    });
    await store.ready();
    let reached = 0;
    const failing = async () => {
      reached++;
      throw new Error('dependency down');
    };
    const states: string[] = [];
    for (let i = 0; i < 2_000; i++) {
      await breaker.execute(failing).catch(() => {});
      if (i < 4) states.push(breaker.state);
    }
    expect(reached).toBe(3);
    expect(states).toEqual(['closed', 'closed', 'open', 'open']);
    // ...and Redis has it once the loop lets the answer in.
    for (let i = 0; i < 100 && (await store.read('payments'))?.state !== 'open'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await store.read('payments')).toMatchObject({ state: 'open', version: 1 });
  });

  it('opens each of 4 processes running the loop at once on its 3rd failure, all within 100 ms', async () => {
    const prefix = prefixFor('loop-fleet');
    const processes: CircuitProcess[] = await startFleet(4, {
      port: PORT,
      prefix,
      name: 'payments',
      threshold: 3,
      halfOpenAfterMs: 30_000,
    });
    cleanup.push(() => Promise.all(processes.map((p) => p.stop())));
    const marks = processes.map((p) => p.mark());
    const startAt = Date.now() + 300;
    const replies = await Promise.all(
      processes.map((p) => p.calls({ n: 2_000, outcome: 'fail', startAt, trace: 4 })),
    );
    const opens = await Promise.all(processes.map((p, i) => p.event('open', marks[i])));
    // Within 100 ms (Date.now() of one host): from the first process to open to the last, and
    // from each process's 3rd call settling to its open. A process that starts late may hear
    // the fleet's open before its own 3rd failure: it opens sooner, with fewer calls.
    const spread = Math.max(...opens.map((e) => e.at)) - Math.min(...opens.map((e) => e.at));
    const lags = replies.map((r, i) => opens[i]!.at - r.settledAt[2]!);
    console.log(
      `opens spread over ${spread} ms; each after its 3rd call: ${lags} ms; calls reaching fn: ${replies.map((r) => r.reached)}`,
    );
    for (const reply of replies) {
      expect(reply.reached).toBeLessThanOrEqual(3);
      expect(reply.failed + reply.rejected).toBe(2_000);
      expect(reply.states.slice(2)).toEqual(['open', 'open']);
    }
    expect(replies.filter((r) => r.reached === 3).length).toBeGreaterThan(0);
    expect(spread).toBeLessThan(100);
    for (const lag of lags) expect(lag).toBeLessThan(100);
    // One circuit for the fleet: one open stored; the other three adopted it.
    expect(await redis.hget(`${prefix}{payments}`, 'v')).toBe('1');
    for (const p of processes) expect(await p.command('state')).toMatchObject({ state: 'open' });
  });
});
