import { createHash } from 'node:crypto';
import type { RedisArg, RedisClient } from './client.js';

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

const asIs = (reply: unknown) => reply;

/**
 * A Lua script every store runs the same way: EVALSHA, and EVAL once after NOSCRIPT (a restarted
 * Redis, a new Cluster node), which loads it again. Its keys are always declared (KEYS), and
 * `decode` is the one place its reply is turned into what the store returns.
 */
export class Script<T = unknown> {
  readonly sha: string;

  constructor(
    readonly lua: string,
    private readonly decode: (reply: unknown) => T = asIs as (reply: unknown) => T,
    /** Replies as Buffers (binary values), through EVALSHA's Buffer form. */
    private readonly buffers = false,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  run(client: RedisClient, keys: readonly string[], args: readonly RedisArg[]): Promise<T> {
    const n = keys.length;
    const sent = this.buffers
      ? (client.callBuffer('evalsha', this.sha, n, ...keys, ...args) as Promise<unknown>)
      : client.evalsha(this.sha, n, ...keys, ...args);
    return sent.then(this.decode, (error: unknown) => {
      if (!isNoScript(error)) throw error;
      const loaded = this.buffers
        ? (client.callBuffer('eval', this.lua, n, ...keys, ...args) as Promise<unknown>)
        : client.eval(this.lua, n, ...keys, ...args);
      return loaded.then(this.decode);
    });
  }
}

/** Redis' clock in a script, as ms (`now`): what every store compares times with. */
export const REDIS_NOW = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;
