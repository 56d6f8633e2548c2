import { leakyBucket, rateLimit, tokenBucket } from '@bulwark/rate-limit';
import { redisRateLimitStore } from '@bulwark/redis';
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Suite } from '../suite.ts';

// Every case cycles through 10 000 distinct keys. Limits are high enough (a million a second,
// the same on every side) that no take is refused: rate-limiter-flexible rejects when over.
const keys = Array.from({ length: 10_000 }, (_, i) => `user:${i}`);
let cursor = 0;
const nextKey = () => {
  const key = keys[cursor]!;
  if (++cursor === keys.length) cursor = 0;
  return key;
};
const perSecond = 1_000_000;
const concurrency = 64;

const fn = async () => 1;
const tokens = tokenBucket({ capacity: perSecond, refillPerSecond: perSecond });
const slots = leakyBucket({ ratePerSecond: perSecond, maxQueue: perSecond });
const policy = rateLimit({
  limiter: tokenBucket({ capacity: perSecond, refillPerSecond: perSecond }),
});
const rlfMemory = new RateLimiterMemory({ points: perSecond, duration: 1 });
const bottleneck = new Bottleneck.Group({ reservoir: 1e12 });

// The shared Redis; this run's keys live under its own prefixes and are deleted in teardown.
const run = `bench:rate-limit:${process.pid}:${Date.now().toString(36)}`;
const ourPrefix = `${run}:ours:`;
const peerPrefix = `${run}:rlf`;
const client = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
const redisTokens = tokenBucket({
  capacity: perSecond,
  refillPerSecond: perSecond,
  store: redisRateLimitStore({ client, prefix: ourPrefix, timeoutMs: 5_000, onStoreError: 'deny' }),
});
const rlfRedis = new RateLimiterRedis({
  storeClient: client,
  points: perSecond,
  duration: 1,
  keyPrefix: peerPrefix,
});

/** `concurrency` takes at once, each on its own key: what a busy server sends. */
function batch(take: (key: string) => Promise<unknown>): Promise<unknown[]> {
  const pending = new Array<Promise<unknown>>(concurrency);
  for (let i = 0; i < concurrency; i++) pending[i] = take(nextKey());
  return Promise.all(pending);
}

async function deleteKeys(prefix: string): Promise<void> {
  let scan = '0';
  do {
    const [next, found] = await client.scan(scan, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    scan = next;
    if (found.length > 0) await client.unlink(...found);
  } while (scan !== '0');
}

const rlfMemoryName = 'rate-limiter-flexible RateLimiterMemory.consume(key)';
const rlfRedisName = `rate-limiter-flexible RateLimiterRedis.consume(key) x${concurrency}`;

const suite: Suite = {
  id: 'rate-limit',
  title: 'Rate limit: one take, in memory and in Redis',
  about: `In memory: one take a call (the harness awaits the promise it returns), cycling through 10 000 keys, for our token and leaky buckets (default memory store), \`rateLimit\` around an async function, rate-limiter-flexible \`RateLimiterMemory\` and a bottleneck \`Group\` (a limiter per key); limits of ${perSecond} a second on every side, so nothing is refused. In Redis (the shared 127.0.0.1:6379, one ioredis client): ${concurrency} concurrent takes on distinct keys, \`Promise.all\`, figures per take; ours sends the takes of one tick as one EVALSHA of a script that performs each take in order, atomically, on Redis' TIME (one script per slot on Cluster; a lone take goes as the one-take script), rate-limiter-flexible's is one EVALSHA of its fixed-window counter per take.`,
  setup: async () => {
    await client.connect();
    await redisTokens.take('warm-up');
    await rlfRedis.consume('warm-up');
  },
  // Whatever case comes right after the bare one measures 10-20% slower than it would elsewhere
  // (seen with two identical limiters), so neither case of a compared pair sits there.
  cases: [
    {
      name: 'Promise.resolve(key)',
      kind: 'bare',
      fn: () => Promise.resolve(nextKey()),
    },
    {
      name: 'leakyBucket.take(key), memory',
      kind: 'ours',
      fn: () => slots.take(nextKey()),
    },
    {
      name: 'tokenBucket.take(key), memory',
      kind: 'ours',
      fn: () => tokens.take(nextKey()),
      target: { atLeastTimesFasterThan: rlfMemoryName, ratio: 2 },
    },
    {
      name: 'rateLimit(tokenBucket).execute(fn, { key }), memory',
      kind: 'ours',
      fn: () => policy.execute(fn, { key: nextKey() }),
    },
    { name: rlfMemoryName, kind: 'peer', fn: () => rlfMemory.consume(nextKey()) },
    {
      name: 'bottleneck Group.key(key).schedule(fn)',
      kind: 'peer',
      fn: () => bottleneck.key(nextKey()).schedule(fn),
    },
    {
      name: `tokenBucket.take(key), Redis x${concurrency}`,
      kind: 'ours',
      opsPerCall: concurrency,
      fn: () => batch((key) => redisTokens.take(key)),
      target: { atLeastTimesFasterThan: rlfRedisName, ratio: 1.5 },
    },
    {
      name: rlfRedisName,
      kind: 'peer',
      opsPerCall: concurrency,
      fn: () => batch((key) => rlfRedis.consume(key)),
    },
  ],
  teardown: async () => {
    await deleteKeys(ourPrefix);
    await deleteKeys(peerPrefix);
    await bottleneck.disconnect();
    client.disconnect();
  },
};
export default suite;
