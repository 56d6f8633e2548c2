import { memoryRateLimitStore, type RateLimitStore } from '@bulwark/rate-limit';
import { type RedisRateLimitStore, redisRateLimitStore } from '@bulwark/redis';
import { Cluster, Redis } from 'ioredis';
import { deleteKeysUnder, uniquePrefix } from './rate-limit-keys.js';
import { RedisCluster, RedisServer } from './redis-server.js';

/** Where the contract suite's buckets live: memory, the shared Redis, or a Cluster of its own. */
export interface Backend {
  readonly name: string;
  /** `clients` stores that share buckets, each over its own connection (one store in memory). */
  stores(clients: number): RateLimitStore[];
  /** A Redis connection to the backend, to look at or break its data; none for memory. */
  readonly admin?: Redis | Cluster;
  /** The prefix of the stores' keys. */
  readonly prefix: string;
  /** A store whose Redis this test may SCRIPT FLUSH (never the shared one); none for memory. */
  flushable(): Promise<{ store: RateLimitStore; flush(): Promise<void> } | undefined>;
  stop(): Promise<void>;
}

export function memoryBackend(): Backend {
  return {
    name: 'memory',
    stores: (clients) => {
      const store = memoryRateLimitStore();
      return Array.from({ length: clients }, () => store);
    },
    prefix: '',
    flushable: async () => undefined,
    stop: async () => {},
  };
}

function redisStores(
  connect: () => Redis | Cluster,
  prefix: string,
  opened: Array<Redis | Cluster>,
  stores: RedisRateLimitStore[],
) {
  return (clients: number) =>
    Array.from({ length: clients }, () => {
      const client = connect();
      opened.push(client);
      // 'deny' and a long timeout: a slow answer must never turn into a local decision here.
      const store = redisRateLimitStore({
        client,
        prefix,
        timeoutMs: 10_000,
        onStoreError: 'deny',
      });
      stores.push(store);
      return store;
    });
}

/** The shared Redis on 6379 under a prefix of this run's own, deleted at the end. */
export function redisBackend(): Backend {
  const shared = { host: '127.0.0.1', port: 6379 };
  const prefix = uniquePrefix('contract');
  const admin = new Redis(shared);
  const opened: Array<Redis | Cluster> = [admin];
  const stores: RedisRateLimitStore[] = [];
  let privateServer: RedisServer | undefined;
  return {
    name: 'Redis',
    admin,
    prefix,
    stores: redisStores(() => new Redis(shared), prefix, opened, stores),
    // SCRIPT FLUSH would reach every user of the shared Redis: a private server takes it.
    flushable: async () => {
      privateServer ??= await RedisServer.start();
      const port = privateServer.port;
      const [store] = redisStores(() => new Redis({ port }), prefix, opened, stores)(1);
      const client = opened.at(-1) as Redis;
      return { store: store!, flush: async () => void (await client.script('FLUSH')) };
    },
    stop: async () => {
      for (const store of stores) store.close();
      await deleteKeysUnder(admin, prefix);
      for (const client of opened) client.disconnect();
      await privateServer?.stop();
    },
  };
}

/** A 3-master Redis Cluster started on free ports for this run. */
export async function clusterBackend(): Promise<Backend> {
  const cluster = await RedisCluster.start(3);
  const prefix = uniquePrefix('contract');
  const admin = new Cluster(cluster.startupNodes);
  const opened: Array<Redis | Cluster> = [admin];
  const stores: RedisRateLimitStore[] = [];
  return {
    name: 'Redis Cluster',
    admin,
    prefix,
    stores: redisStores(() => new Cluster(cluster.startupNodes), prefix, opened, stores),
    flushable: async () => {
      const [store] = redisStores(
        () => new Cluster(cluster.startupNodes),
        prefix,
        opened,
        stores,
      )(1);
      await admin.ping(); // the slot map, so that nodes() lists every master
      const flush = async () => {
        for (const node of admin.nodes('master')) await node.script('FLUSH');
      };
      return { store: store!, flush };
    },
    stop: async () => {
      for (const store of stores) store.close();
      for (const client of opened) client.disconnect();
      await cluster.stop();
    },
  };
}
