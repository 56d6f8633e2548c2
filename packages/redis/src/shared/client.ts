import type { Cluster, Redis } from 'ioredis';

/** An ioredis client, 5.x or 6.x: `new Redis(...)` or `new Cluster(...)`. */
export type RedisClient = Redis | Cluster;

/** A reply argument as ioredis sends it. */
export type RedisArg = string | Buffer | number;
