import { rateLimit, tokenBucket } from '@bulwark/rate-limit';
import { redisRateLimitStore } from '@bulwark/redis';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysUnder, keysUnder, uniquePrefix } from './support/rate-limit-keys.js';
import { runWorkers } from './support/rate-limit-workers.js';
import { RedisCluster } from './support/redis-server.js';

// A real 3-master Redis Cluster, started here on free ports and stopped after.
const prefix = uniquePrefix('cluster');
let cluster: RedisCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await RedisCluster.start(3);
  client = new Cluster(cluster.startupNodes);
}, 60_000);

afterAll(async () => {
  if (client) {
    await deleteKeysUnder(client, prefix).catch(() => {});
    client.disconnect();
  }
  await cluster?.stop();
}, 30_000);

function store() {
  return redisRateLimitStore({ client, prefix, timeoutMs: 5_000, onStoreError: 'deny' });
}

describe('rate limits on Redis Cluster', () => {
  it('limits each key in one slot and spreads the keys over the masters', async () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 0.01, store: store() });
    const keys = Array.from({ length: 30 }, (_, i) => `user:${i}`);
    for (const key of keys) expect((await limiter.take(key)).allowed).toBe(true);
    for (const key of keys) expect((await limiter.take(key)).allowed).toBe(false);
    const perMaster = await Promise.all(
      client.nodes('master').map(async (node) => (await keysUnder(node, prefix)).length),
    );
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(30);
    expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
  });

  it('keeps keys with braces, spaces and unicode apart, without CROSSSLOT', async () => {
    const policy = rateLimit({
      limiter: tokenBucket({ capacity: 1, refillPerSecond: 0.01, store: store() }),
    });
    const odd = ['{a}', '{a', 'a}', 'a b', 'é', '😀', '}{', ''];
    for (const key of odd) expect(await policy.execute(() => 'ran', { key })).toBe('ran');
    for (const key of odd) {
      await expect(policy.execute(() => 'ran', { key })).rejects.toMatchObject({
        code: 'RATE_LIMITED',
      });
    }
  });

  it('lets 4 processes x 50 concurrent takes through one bucket (100, 10/s) no more than 150 times in 5 s', async () => {
    const result = await runWorkers({
      processes: 4,
      workers: 50,
      cluster: true,
      nodes: cluster.startupNodes,
      prefix,
      key: 'crowd',
      capacity: 100,
      refillPerSecond: 10,
      durationMs: 5_000,
    });
    const seen = JSON.stringify(result);
    expect(result.errors, seen).toBe(0);
    expect(result.refused, seen).toBeGreaterThan(1000);
    expect(result.admitted, seen).toBeLessThanOrEqual(150);
    expect(result.admitted, seen).toBeGreaterThanOrEqual(145);
    const span = result.lastAnswerAt - result.startAt;
    expect(result.admitted, seen).toBeLessThanOrEqual(Math.floor(100 + (10 * span) / 1000));
  }, 60_000);
});
