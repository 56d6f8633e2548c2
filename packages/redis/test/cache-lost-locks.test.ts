/**
 * A fill lock whose acquire got no answer must never be left behind, whichever reaches Redis
 * first: the acquire (a thaw) or the release by token (ioredis replays the acquire after the
 * reconnect, behind it). The scripts on the shared Redis, under a prefix of this test's own.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ACQUIRE_LOCK, RELEASE_LOST_LOCK } from '../src/cache/scripts.js';
import { tombstonesOf } from '../src/cache/tombstones.js';

const client = new Redis({ host: '127.0.0.1', port: 6379 });
const prefix = `test:lost-locks:${process.pid}:${randomUUID()}:`;
const keys = (id: string) => {
  const lock = `${prefix}l{${id}}`;
  return [lock, tombstonesOf(lock)];
};
const acquire = (id: string, token: string) => ACQUIRE_LOCK.run(client, keys(id), [token, 10_000]);
const releaseLost = (id: string, token: string, leaseMs = 10_000) =>
  RELEASE_LOST_LOCK.run(client, keys(id), [token, leaseMs]);

afterAll(async () => {
  const found = await client.keys(`${prefix}*`);
  if (found.length > 0) await client.del(...found);
  client.disconnect();
});

describe('a fill lock given up by its caller', () => {
  it('is released when the acquire reached Redis first', async () => {
    expect(await acquire('a', 't1')).toBe(true);
    expect(await releaseLost('a', 't1')).toBe(1);
    expect(await acquire('a', 't2')).toBe(true);
  });

  it('is never taken when the release reached Redis first, and stays free for others', async () => {
    expect(await releaseLost('b', 't1')).toBe(0);
    expect(await acquire('b', 't1')).toBe(false);
    expect(await client.exists(keys('b')[0]!)).toBe(0);
    expect(await acquire('b', 't2')).toBe(true);
  });

  it("never releases another holder's lock", async () => {
    expect(await acquire('c', 'holder')).toBe(true);
    expect(await releaseLost('c', 'someone-else')).toBe(0);
    expect(await acquire('c', 'third')).toBe(false);
  });

  it('leaves no tombstone for a release whose acquire is known to have landed', async () => {
    await releaseLost('d', 't1', 0);
    expect(await client.exists(keys('d')[1]!)).toBe(0);
  });
});
