import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from './fixtures/cache-children.js';
import { deletePrefix, REDIS_URL, redisIsUp, uniquePrefix } from './fixtures/cache-redis.js';

const up = await redisIsUp();
if (!up)
  console.warn('Redis is not reachable at', REDIS_URL, ': the cache process tests are skipped');

// Several Node processes on the built packages (run the package builds first), sharing Redis.
describe.skipIf(!up)('cache across processes on a real Redis', () => {
  let client: Redis;
  const prefixes: string[] = [];
  const workers: Worker[] = [];

  async function startWorkers(n: number, prefix: string): Promise<Worker[]> {
    const started = Array.from(
      { length: n },
      () => new Worker({ CACHE_PREFIX: prefix, REDIS_URL }),
    );
    workers.push(...started);
    await Promise.all(started.map((w) => w.ready()));
    return started;
  }

  beforeAll(() => {
    client = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    for (const p of prefixes) await deletePrefix(client, p);
    await client.quit();
  });

  it('drops an entry from another process’s memory tier within 100 ms of its invalidation', async () => {
    const prefix = uniquePrefix('bus');
    prefixes.push(prefix);
    const [a, b] = await startWorkers(2, prefix);
    const filled = await b!.run('load', { key: 'user:1', value: { name: 'Ada' } });
    expect(filled).toMatchObject({ value: { name: 'Ada' }, inL1: true });
    // Both subscriptions are confirmed (each worker awaits bus.ready before it says ready).
    await b!.run('watch', { key: 'user:1' });
    const dropped = b!.next((m) => m.type === 'dropped');
    const { at: invalidatedAt } = await a!.run('invalidate', { key: 'user:1' });
    const { at: droppedAt } = await dropped;
    const delayMs = (droppedAt as number) - (invalidatedAt as number);
    console.log(`invalidation reached the other process's l1 in ${delayMs} ms`);
    expect(delayMs).toBeLessThan(100);
    const reloaded = await b!.run('load', { key: 'user:1', value: { name: 'Grace' } });
    expect(reloaded).toMatchObject({ value: { name: 'Grace' } });
  });

  it('drops a tag from another process’s memory tier', async () => {
    const prefix = uniquePrefix('bustag');
    prefixes.push(prefix);
    const [a, b] = await startWorkers(2, prefix);
    await b!.run('load', { key: 'k', value: { tags: ['team:red'] } });
    await b!.run('watch', { key: 'k' });
    const dropped = b!.next((m) => m.type === 'dropped');
    const { at: invalidatedAt } = await a!.run('invalidateTag', { tag: 'team:red' });
    const { at: droppedAt } = await dropped;
    expect((droppedAt as number) - (invalidatedAt as number)).toBeLessThan(100);
    const reloaded = await b!.run('load', { key: 'k', value: 'reloaded' });
    expect(reloaded).toMatchObject({ value: 'reloaded' });
  });

  it('runs the loader once for 4 processes x 500 concurrent misses of one key', async () => {
    const prefix = uniquePrefix('storm');
    prefixes.push(prefix);
    const counterKey = `${prefix}:loader-calls`;
    const processes = await startWorkers(4, prefix);
    const results = await Promise.all(
      processes.map((w) => w.run('storm', { key: 'hot', calls: 500, counterKey, loadMs: 300 })),
    );
    const loaderCalls = Number(await client.get(counterKey));
    const distinct = new Set(results.flatMap((r) => r.distinct as string[]));
    const stats = results.map((r) => r.stats as { loads: number; misses: number });
    const loads = stats.map((s) => s.loads);
    console.log(
      `4 processes x 500 misses: loader calls ${loaderCalls}, loads per process ${loads}, misses per process ${stats.map((s) => s.misses)}`,
    );
    expect(loaderCalls).toBe(1);
    expect(distinct.size).toBe(1);
    expect(loads.reduce((a, b) => a + b, 0)).toBe(1);
  });
});
