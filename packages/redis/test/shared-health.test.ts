/**
 * RedisHealth, the connection-health model of every Redis store: deadlines and probes on a
 * manual clock, connection states from a real redis-server of the test's own (killed, frozen
 * and restarted here; never the shared one on 6379).
 */
import { once } from 'node:events';
import { StoreUnavailableError } from '@bulwark/core';
import { type ManualClock, manualClock } from '@bulwark/core/testing';
import { Redis, type RedisOptions, ReplyError } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisServer } from '../../../test/support/redis-server.js';
import {
  isRedisAnswer,
  RedisHealth,
  type RedisStoreEvent,
  Script,
  SEND,
  UNAVAILABLE,
  UnexpectedReplyError,
  WAIT_FOR_CONNECTION,
} from '../src/shared/index.js';

const TIMEOUT_MS = 100;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('RedisHealth', () => {
  let server: RedisServer;
  let clock: ManualClock;
  let clients: Redis[];
  let healths: RedisHealth[];
  let events: RedisStoreEvent[];

  const client = (options: RedisOptions = {}) => {
    const c = new Redis({ host: '127.0.0.1', port: server.port, ...options });
    c.on('error', () => {}); // refused reconnects are expected here
    clients.push(c);
    return c;
  };
  const health = (c: Redis) => {
    const h = new RedisHealth(c, {
      store: 'testStore',
      timeoutMs: TIMEOUT_MS,
      clock,
      onStoreError: 'refuse',
    });
    h.on((event) => events.push(event));
    healths.push(h);
    return h;
  };
  const errors = () => events.filter((e) => e.type === 'store-error');
  const recoveries = () => events.filter((e) => e.type === 'store-recovered');

  beforeEach(async () => {
    server = await RedisServer.start();
    clock = manualClock(1_000_000);
    clients = [];
    healths = [];
    events = [];
  });
  afterEach(async () => {
    for (const h of healths) h.close();
    for (const c of clients) c.disconnect();
    server.thaw();
    await server.stop();
  });

  it('sends at once on a ready client, and leaves no timer behind', async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    expect(h.gate('get')).toBe(SEND);
    await expect(h.send('get', () => c.get('missing'))).resolves.toBeNull();
    expect(clock.pendingTimers).toBe(0);
    expect(events).toEqual([]);
  });

  it('waits for the first connection of a client that is still connecting', async () => {
    const c = client();
    const h = health(c);
    expect(h.gate('get')).toBe(WAIT_FOR_CONNECTION);
    await expect(h.send('get', () => c.get('missing'))).resolves.toBeNull();
    expect(h.available).toBe(true);
  });

  it('connects a lazyConnect client, and sends nothing until it is ready', async () => {
    // Without an offline queue, a command sent before 'ready' would be rejected by ioredis.
    const c = client({ lazyConnect: true, enableOfflineQueue: false });
    const h = health(c);
    expect(c.status).toBe('wait');
    await expect(h.send('get', () => c.get('missing'))).resolves.toBeNull();
    expect(c.status).toBe('ready');
  });

  it('gives up on a first connection that does not come within timeoutMs', async () => {
    await server.kill();
    const c = client({ retryStrategy: () => 20 });
    const h = health(c);
    let sent = 0;
    const call = h
      .send('get', () => {
        sent++;
        return c.get('k');
      })
      .catch((e: unknown) => e);
    await clock.advance(TIMEOUT_MS);
    const error = await call;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(((error as Error).cause as Error).message).toBe(
      `testStore: connect did not answer within ${TIMEOUT_MS} ms`,
    );
    expect(sent).toBe(0);
    expect(errors()).toMatchObject([
      { store: 'testStore', operation: 'get', onStoreError: 'refuse' },
    ]);
  });

  it('refuses at once while ioredis reconnects, never queueing the command, and says so once', async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    await server.kill();
    await until('the client to notice', () => c.status !== 'ready');
    let sent = 0;
    const command = () => {
      sent++;
      return c.get('k');
    };
    for (let i = 0; i < 5; i++) {
      expect(h.gate('get', 'k')).toBe(UNAVAILABLE);
      await expect(h.send('get', command, undefined, 'k')).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    }
    expect(sent).toBe(0);
    expect(h.available).toBe(false);
    expect(errors()).toEqual([
      {
        type: 'store-error',
        store: 'testStore',
        operation: 'get',
        error: expect.any(StoreUnavailableError),
        onStoreError: 'refuse',
        key: 'k',
      },
    ]);
  });

  it('finds Redis again when the client reconnects, and says how long it was away', async () => {
    const c = client({ retryStrategy: () => 20 });
    await once(c, 'ready');
    const h = health(c);
    await server.kill();
    await until('the client to notice', () => c.status !== 'ready');
    expect(h.gate('get')).toBe(UNAVAILABLE);
    await clock.advance(3000); // no probe can reach a dead server meanwhile
    await server.start();
    await until('the store to recover', () => h.available);
    expect(recoveries()).toEqual([{ type: 'store-recovered', store: 'testStore', downMs: 3000 }]);
    await expect(h.send('get', () => c.get('missing'))).resolves.toBeNull();
    expect(errors()).toHaveLength(1);
  });

  it('probes with one PING at a time while Redis is frozen, and recovers on the thaw', async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    let pings = 0;
    const ping = c.ping.bind(c);
    c.ping = (() => {
      pings++;
      return ping();
    }) as typeof c.ping;
    server.freeze();
    const hung = h.send('get', () => c.get('k')).catch((e: unknown) => e);
    await clock.advance(TIMEOUT_MS);
    expect(await hung).toBeInstanceOf(StoreUnavailableError);
    for (let i = 0; i < 10; i++) expect(h.gate('get')).toBe(UNAVAILABLE);
    expect(pings).toBe(1); // the first gate while down sent one; the others found it in flight
    await clock.advance(TIMEOUT_MS); // that PING times out
    await clock.advance(250 - TIMEOUT_MS); // the probe timer sends the next one
    expect(pings).toBe(2);
    server.thaw();
    await until('the store to recover', () => h.available);
    expect(pings).toBe(2);
    expect(errors()).toHaveLength(1);
    expect(recoveries()).toHaveLength(1);
  });

  it('reports one store-error for many commands that time out together', async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    server.freeze();
    const hung = Array.from({ length: 5 }, (_, i) =>
      h.send('get', () => c.get(`k${i}`)).catch((e: unknown) => e),
    );
    await clock.advance(TIMEOUT_MS);
    for (const error of await Promise.all(hung))
      expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(errors()).toHaveLength(1);
  });

  it("passes Redis' own reply errors through and stays available", async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    await c.set('a-string', 'x');
    const error = await h.send('hget', () => c.hget('a-string', 'f')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplyError);
    expect((error as Error).message).toMatch(/^WRONGTYPE/);
    expect(h.available).toBe(true);
    expect(events).toEqual([]);
  });

  it('reports a reply its script cannot decode as that, and stays available', async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    const script = new Script('return 7', (reply) => {
      if (typeof reply !== 'string') throw new TypeError(`expected a string, got ${typeof reply}`);
      return reply;
    });
    const error = await h.send('read', () => script.run(c, [], [])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedReplyError);
    expect((error as Error).message).toBe(
      'unexpected reply from Redis: expected a string, got number',
    );
    expect(h.available).toBe(true);
    expect(events).toEqual([]);
  });

  it('says why Redis is unavailable in the error a call gets', async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    await server.kill();
    await until('the client to see the server gone', () => c.status !== 'ready');
    const error = await h.send('get', () => c.get('k')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(
      /^testStore: Redis is unavailable \(get\); the store refuses calls until it answers again \(last error: testStore: the Redis connection is \w+\)$/,
    );
  });

  it('stops probing once closed', async () => {
    const c = client();
    await once(c, 'ready');
    const h = health(c);
    server.freeze();
    const hung = h.send('get', () => c.get('k')).catch(() => {});
    await clock.advance(TIMEOUT_MS);
    await hung;
    h.close();
    await clock.advance(TIMEOUT_MS); // the probe sent before close times out
    expect(clock.pendingTimers).toBe(0);
    server.thaw();
    await sleep(50);
    expect(recoveries()).toEqual([]);
  });

  it('refuses a listener that is not a function', async () => {
    const h = health(client({ lazyConnect: true }));
    expect(() => h.on('nope' as never)).toThrow(
      'testStore.on: listener must be a function, got string',
    );
  });
});

describe('isRedisAnswer', () => {
  it('counts an answer of a Redis that cannot serve as an outage', () => {
    for (const message of ['LOADING Redis is loading', 'BUSY Redis is busy', 'READONLY replica']) {
      expect(isRedisAnswer(new ReplyError(message)), message).toBe(false);
    }
    expect(isRedisAnswer(new ReplyError('WRONGTYPE Operation against a key'))).toBe(true);
    expect(isRedisAnswer(new Error('Connection is closed.'))).toBe(false);
  });
});
