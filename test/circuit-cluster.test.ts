import { type CircuitBreaker, circuitBreaker, consecutiveBreaker } from '@bulwark/circuit-breaker';
import { type RedisCircuitStore, redisCircuitStore } from '@bulwark/redis';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisCluster } from './support/redis-server.js';

// A real 3-master Redis Cluster on free ports (the rate-limit tests' helper), stopped after.
let cluster: RedisCluster;
const clients: Cluster[] = [];
const stores: RedisCircuitStore[] = [];

beforeAll(async () => {
  cluster = await RedisCluster.start(3);
}, 60_000);

afterAll(async () => {
  for (const store of stores) await store.close();
  for (const client of clients) client.disconnect();
  await cluster?.stop();
}, 30_000);

/** One instance: a Cluster client of its own, its store, and breakers for `names`. */
async function instance(names: string[]): Promise<Map<string, CircuitBreaker>> {
  const client = new Cluster(cluster.startupNodes);
  clients.push(client);
  const store = redisCircuitStore({ client, prefix: 'svc:', timeoutMs: 2_000 });
  stores.push(store);
  const breakers = new Map(
    names.map((name) => [
      name,
      circuitBreaker({ breaker: consecutiveBreaker(1), halfOpenAfterMs: 300, store, name }),
    ]),
  );
  await store.ready();
  return breakers;
}

async function until(check: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a shared circuit on Redis Cluster', () => {
  it('shares circuits whose keys spread over the masters, with any name, without CROSSSLOT', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `svc-${i}`).concat(['{a}', 'é 😀', '}{']);
    const [a, b] = await Promise.all([instance(names), instance(names)]);
    for (const name of names) {
      await a
        .get(name)!
        .execute(async () => Promise.reject(new Error('down')))
        .catch(() => {});
    }
    await until(() => names.every((name) => b.get(name)!.state === 'open'));
    const perMaster = await Promise.all(clients[0]!.nodes('master').map((node) => node.dbsize()));
    expect(perMaster.reduce((x, y) => x + y, 0)).toBe(names.length);
    expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);

    // One probe for both instances, then closed on both.
    await new Promise((resolve) => setTimeout(resolve, 350));
    let reached = 0;
    const probe = async () => {
      reached++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    };
    const calls = [a, b, a, b].map((i) =>
      i
        .get('svc-0')!
        .execute(probe)
        .catch(() => {}),
    );
    await Promise.all(calls);
    expect(reached).toBe(1);
    await until(() => a.get('svc-0')!.state === 'closed' && b.get('svc-0')!.state === 'closed');
  }, 60_000);
});
