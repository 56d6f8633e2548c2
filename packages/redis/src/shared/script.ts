import { createHash } from 'node:crypto';
import type { RedisArg, RedisClient } from './client.js';

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

const asIs = (reply: unknown) => reply;

/**
 * Redis answered, but not what the script returns (a key written by something else, another
 * version of the store): a fault of the data, not an outage, so the store stays up.
 */
export class UnexpectedReplyError extends Error {
  override readonly name = 'UnexpectedReplyError';
}

function decoding<T>(decode: (reply: unknown) => T): (reply: unknown) => T {
  return (reply) => {
    try {
      return decode(reply);
    } catch (error) {
      if (error instanceof UnexpectedReplyError) throw error;
      throw new UnexpectedReplyError(
        `unexpected reply from Redis: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
}

/**
 * A Lua script every store runs the same way: EVALSHA, and EVAL once after NOSCRIPT (a restarted
 * Redis, a new Cluster node), which loads it again. Its keys are always declared (KEYS), and
 * `decode` is the one place its reply is turned into what the store returns.
 */
export class Script<T = unknown> {
  readonly sha: string;
  private readonly decode: (reply: unknown) => T;

  constructor(
    readonly lua: string,
    decode: (reply: unknown) => T = asIs as (reply: unknown) => T,
    /** Replies as Buffers (binary values), through EVALSHA's Buffer form. */
    private readonly buffers = false,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
    this.decode = decode === asIs ? decode : decoding(decode);
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
