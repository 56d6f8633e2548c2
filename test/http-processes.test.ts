/**
 * Two server processes (on the built packages) sharing one Redis: a request to server A and its
 * replay from server B, one rate limit across both, a 409 on B while A still runs the request.
 * The pairs mix the frameworks: records one adapter stores, the other replays.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../packages/http/test/conformance/index.js';
import {
  checkBuilt,
  type ServerConfig,
  type ServerProcess,
  startServer,
} from './fixtures/http-processes.js';
import { deleteKeys, REDIS, uniquePrefix } from './fixtures/http-stores.js';

const pairs: Array<[ServerConfig['framework'], ServerConfig['framework']]> = [
  ['express', 'fastify'],
  ['fastify', 'express4'],
];

describe.each(pairs)('servers A (%s) and B (%s) on one Redis', (frameworkA, frameworkB) => {
  const prefix = uniquePrefix('proc');
  const capacity = 4;
  let client: Redis;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    checkBuilt();
    client = new Redis(REDIS);
    [a, b] = await Promise.all([
      startServer({ framework: frameworkA, name: 'A', prefix, capacity }),
      startServer({ framework: frameworkB, name: 'B', prefix, capacity }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await deleteKeys(client, prefix);
    await client.quit();
  });

  const runs = async () => Number(await client.get(`${prefix}runs`));
  const order = (server: ServerProcess, key: string, user: string, body: object = { amount: 10 }) =>
    call(`${server.url}/orders`, {
      method: 'POST',
      headers: { 'idempotency-key': key, 'x-user': user },
      body,
    });

  it('replays from server B the response server A stored', async () => {
    const before = await runs();
    const first = await order(a, 'order-1', 'alice');
    expect(first.status).toBe(201);
    expect(first.headers.get('set-cookie')).toContain('session=A');
    // Sent the moment A answered: A stored before it sent, so this is a replay, not a 409.
    const replay = await order(b, 'order-1', 'alice');
    expect(replay.status).toBe(201);
    expect(replay.text).toBe(first.text);
    expect(replay.headers.get('x-server')).toBe('A');
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('set-cookie')).toBeNull();
    expect(await runs()).toBe(before + 1);
  });

  it("never replays one user's key to another user on the other server", async () => {
    const before = await runs();
    await order(a, 'order-2', 'alice');
    const bob = await order(b, 'order-2', 'bob');
    expect(bob.status).toBe(201);
    expect(bob.headers.get('idempotent-replayed')).toBeNull();
    expect(bob.json).toMatchObject({ server: 'B' });
    expect(await runs()).toBe(before + 2);
  });

  it('answers 422 on B when the key comes back with another body', async () => {
    await order(a, 'order-3', 'alice', { amount: 1 });
    const other = await order(b, 'order-3', 'alice', { amount: 2 });
    expect(other.status).toBe(422);
    expect(other.json).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('answers 409 on B while A still runs the request, then replays it', async () => {
    const before = await runs();
    const body = { amount: 5, waitFor: 'order-4' };
    const first = order(a, 'order-4', 'alice', body);
    await expect.poll(runs, { timeout: 10_000 }).toBe(before + 1);
    const busy = await order(b, 'order-4', 'alice', body);
    expect(busy.status).toBe(409);
    expect(busy.headers.get('retry-after')).toBe('1');
    await client.set(`${prefix}gate:order-4`, '1');
    expect((await first).status).toBe(201);
    const replay = await order(b, 'order-4', 'alice', body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toMatchObject({ server: 'A' });
    expect(await runs()).toBe(before + 1);
  });

  it('answers 400 on either server for a missing key', async () => {
    for (const server of [a, b]) {
      const answer = await call(`${server.url}/orders`, { method: 'POST', body: {} });
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ code: 'IDEMPOTENCY_KEY_MISSING' });
    }
  });

  it('shares one rate limit between both servers', async () => {
    const seen: Array<string | null> = [];
    for (const server of [a, b, a, b]) {
      const answer = await call(`${server.url}/limited`);
      expect(answer.status).toBe(200);
      seen.push(answer.headers.get('ratelimit'));
    }
    expect(seen.map((field) => field?.match(/;r=(\d+);/)?.[1])).toEqual(['3', '2', '1', '0']);
    for (const server of [a, b]) {
      const refused = await call(`${server.url}/limited`);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('ratelimit-policy')).toBe('"default";q=4;w=3600');
    }
  });
});
