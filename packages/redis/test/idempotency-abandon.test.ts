/**
 * A claim abandoned by its caller (refused while Redis was away) must never hold its key,
 * whichever reaches Redis first: the claim (a thaw) or the abandon (ioredis replays the claim
 * after the reconnect, behind the store's own commands). The scripts on the shared Redis, under
 * a prefix of this test's own.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { abandonedKey } from '../src/idempotency/abandoned.js';
import { abandonScript, claimScript } from '../src/idempotency/scripts.js';

const client = new Redis({ host: '127.0.0.1', port: 6379 });
const prefix = `test:abandon:${process.pid}:${randomUUID()}:`;
const keys = (id: string) => {
  const record = `${prefix}{${id}}`;
  return [record, abandonedKey(record)];
};
const claim = (id: string, nonce: string) =>
  claimScript.run(client, keys(id), ['fp', 30_000, 60_000, nonce]);
const abandon = (id: string, nonce: string) => abandonScript.run(client, keys(id), [nonce, 60_000]);

afterAll(async () => {
  const found = await client.keys(`${prefix}*`);
  if (found.length > 0) await client.del(...found);
  client.disconnect();
});

describe('an abandoned claim', () => {
  it('is deleted when the claim reached Redis first', async () => {
    expect((await claim('a', 'n1')).status).toBe('claimed');
    expect(await abandon('a', 'n1')).toBe(true);
    expect((await claim('a', 'n2')).status).toBe('claimed');
  });

  it('does nothing when the abandon reached Redis first, and leaves the key to others', async () => {
    expect(await abandon('b', 'n1')).toBe(false);
    expect((await claim('b', 'n1')).status).not.toBe('claimed');
    expect(await client.exists(keys('b')[0]!)).toBe(0);
    expect((await claim('b', 'n2')).status).toBe('claimed');
  });

  it("never frees another caller's claim", async () => {
    expect((await claim('c', 'owner')).status).toBe('claimed');
    expect(await abandon('c', 'someone-else')).toBe(false);
    expect((await claim('c', 'third')).status).toBe('in-progress');
  });

  it('expires its tombstone with the claim it stands for', async () => {
    await abandon('d', 'n1');
    const pttl = await client.pttl(keys('d')[1]!);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60_000);
  });
});
