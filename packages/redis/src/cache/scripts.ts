import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** A Lua script run by its SHA, sent in full only when Redis does not know it yet. */
export class CacheScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    client: RedisClient,
    keys: string[],
    args: (string | Buffer | number)[],
  ): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * Replaces an entry (a hash: v value, e expiresAt, s staleUntil, t tags as JSON, u '1' for
 * undefined) and adds it to its tag sets. A tag set lives as long as its longest-lived member.
 * KEYS[1] the entry, KEYS[2..] its tag sets; ARGV value, e, s, tags, u, px (0: no expiry).
 */
export const SET_ENTRY = new CacheScript(`
redis.call('DEL', KEYS[1])
local fields = {'v', ARGV[1], 'e', ARGV[2], 's', ARGV[3]}
if ARGV[4] ~= '' then fields[#fields + 1] = 't'; fields[#fields + 1] = ARGV[4] end
if ARGV[5] == '1' then fields[#fields + 1] = 'u'; fields[#fields + 1] = '1' end
redis.call('HSET', KEYS[1], unpack(fields))
local px = tonumber(ARGV[6])
if px > 0 then redis.call('PEXPIRE', KEYS[1], px) end
for i = 2, #KEYS do
  local existed = redis.call('EXISTS', KEYS[i])
  redis.call('SADD', KEYS[i], KEYS[1])
  if px == 0 then
    redis.call('PERSIST', KEYS[i])
  else
    local ttl = redis.call('PTTL', KEYS[i])
    if existed == 0 or (ttl >= 0 and ttl < px) then redis.call('PEXPIRE', KEYS[i], px) end
  end
end
return 1
`);

/**
 * Deletes the members of a tag set that still carry the tag (a key set again without it
 * stays), then the set. KEYS[1] the tag set; ARGV[1] the tag. Returns how many were deleted.
 */
export const DELETE_TAG = new CacheScript(`
local deleted = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local tags = redis.call('HGET', key, 't')
  if tags then
    for _, tag in ipairs(cjson.decode(tags)) do
      if tag == ARGV[1] then
        redis.call('DEL', key)
        deleted = deleted + 1
        break
      end
    end
  end
end
redis.call('DEL', KEYS[1])
return deleted
`);

/** Releases a fill lock only if this token still holds it. KEYS[1] the lock; ARGV[1] token. */
export const RELEASE_LOCK = new CacheScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
