import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from './fixtures/cache-children.js';
import { keysUnder, uniquePrefix } from './fixtures/cache-redis.js';
import { RedisServer } from './support/redis-server.js';

// 4 processes read through tiered(memory, redisCacheStore, { bus }) from a private Redis that
// is killed for 5 s and restarted, once per ioredis client setting (on the built packages).

const TIMEOUT_MS = 100;
const BEFORE_MS = 2_000;
const DOWN_MS = 5_000;
const AFTER_MS = 2_500;
// cacheAside's default lockLeaseMs, which the workers use.
const LOCK_LEASE_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Sample = [at: number, ms: number, missedMemory: boolean];
type Load = [key: string, at: number];

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
}

describe('4 processes reading through tiered(memory, redisCacheStore, { bus }) while Redis is killed for 5 s', () => {
  let server: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = new Redis({ port: server.port });
    admin.on('error', () => {});
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  it.each(['defaults', 'commandTimeout', 'offlineQueue', 'maxRetries'])(
    'with ioredis %s: misses answer within timeoutMs, one load per key per process, no lock left',
    async (setting) => {
      const prefix = uniquePrefix(`outage-${setting}`);
      const env = {
        CACHE_PREFIX: prefix,
        REDIS_PORT: String(server.port),
        CLIENT_SETTING: setting,
        TIMEOUT_MS: String(TIMEOUT_MS),
      };
      const workers = Array.from({ length: 4 }, () => new Worker(env, 'cache-outage-worker.mjs'));
      try {
        await Promise.all(workers.map((w) => w.ready()));
        const startedAt = Date.now();
        const untilMs = startedAt + BEFORE_MS + DOWN_MS + AFTER_MS;
        const runs = workers.map((w) => w.run('run', { untilMs }, 60_000));
        await sleep(BEFORE_MS);
        const killedAt = Date.now();
        // Frozen first, so commands are in flight when it dies: ioredis may replay them later.
        server.freeze();
        await sleep(150);
        await server.kill();
        await sleep(DOWN_MS);
        await server.start();
        const restartedAt = Date.now();
        const results = await Promise.all(runs);
        await sleep(300);
        const underL = await keysUnder(admin, prefix, 'l');
        // A lock given up before its acquire arrived leaves a tombstone (not a lock: it blocks
        // nobody), which must expire within the lock's lease.
        const tombstones = underL.filter((key) => key.endsWith(':abandoned'));
        const locks = underL.filter((key) => !key.endsWith(':abandoned'));
        const tombstoneTtls = await Promise.all(tombstones.map((key) => admin.pttl(key)));

        const samples = results.flatMap((r) => r.samples as Sample[]);
        const missed = samples.filter(([, , m]) => m).map(([, ms]) => ms);
        const worst = p99(missed);
        // While Redis was away: how often each process loaded each key.
        const perProcess = results.map((r) => {
          const counts = new Map<string, number>();
          for (const [key, at] of r.loads as Load[]) {
            if (at >= killedAt && at <= restartedAt) counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          return Math.max(0, ...counts.values());
        });
        // After the restart (+1 s): each new key loaded once in all, the others read it from Redis.
        const after = new Map<string, number>();
        for (const r of results) {
          for (const [key] of r.loads as Load[]) {
            if (Number(key.slice(2)) * 100 >= restartedAt + 1_000) {
              after.set(key, (after.get(key) ?? 0) + 1);
            }
          }
        }
        // When each process's store found Redis again after the restart (ms after it answered).
        const recovered = results.map((r) => {
          const back = (r.events as Array<{ type: string; at: number }>).filter(
            (e) => e.type === 'store-recovered' && e.at > killedAt + DOWN_MS,
          );
          return back.length === 0 ? Number.NaN : back[back.length - 1]!.at - restartedAt;
        });
        console.log(
          `${setting}: ${missed.length} reads missed memory, p99 ${worst.toFixed(1)} ms, max ${Math.max(...missed).toFixed(1)} ms; ` +
            `most loads of one key in one process while down: ${perProcess}; keys after restart+1 s: ${after.size}, ` +
            `loads of each: ${[...new Set(after.values())]}; store back ${recovered.join(', ')} ms after the restart; locks left: ${locks.length}`,
        );
        expect(missed.length).toBeGreaterThan(50);
        expect(worst).toBeLessThanOrEqual(TIMEOUT_MS + 50);
        for (const most of perProcess) expect(most).toBeLessThanOrEqual(1);
        expect(locks).toEqual([]);
        for (const ttl of tombstoneTtls) {
          expect(ttl).toBeGreaterThan(0);
          expect(ttl).toBeLessThanOrEqual(LOCK_LEASE_MS);
        }
        for (const ms of recovered) expect(ms).not.toBeNaN();
        expect(after.size).toBeGreaterThan(5);
        for (const loads of after.values()) expect(loads).toBe(1);
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
    },
    90_000,
  );
});
