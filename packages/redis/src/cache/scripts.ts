import { REDIS_NOW, Script } from '../shared/script.js';

// Every script below touches the keys of one id only, all declared (an entry; its lock and the
// lock's tombstones; one tag set), under one hash tag, so it runs on one Cluster slot. Times in an entry are Redis' own (TIME); callers send and read
// remaining milliseconds, never a host's clock. 'inf' stands for no expiry.

/** What `GET_ENTRY` returns for a present entry: value, fresh ms left, stale ms left, tags, undefined flag. */
export type EntryReply = [Buffer, Buffer, Buffer, Buffer, Buffer];

/**
 * Replaces an entry: a hash of v value, e fresh-until, s stale-until (Redis time, or 'inf'),
 * t tags as JSON, u '1' for undefined; Redis drops it at s (PEXPIRE).
 * KEYS[1] the entry; ARGV value, fresh ms, stale ms (> 0, or 'inf'), tags JSON or '', u.
 */
export const SET_ENTRY = new Script<unknown>(`${REDIS_NOW}
local e = ARGV[2] == 'inf' and 'inf' or tostring(now + tonumber(ARGV[2]))
local s = ARGV[3] == 'inf' and 'inf' or tostring(now + tonumber(ARGV[3]))
redis.call('DEL', KEYS[1])
local fields = {'v', ARGV[1], 'e', e, 's', s}
if ARGV[4] ~= '' then fields[#fields + 1] = 't'; fields[#fields + 1] = ARGV[4] end
if ARGV[5] == '1' then fields[#fields + 1] = 'u'; fields[#fields + 1] = '1' end
redis.call('HSET', KEYS[1], unpack(fields))
if s ~= 'inf' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`);

/**
 * Reads an entry as milliseconds left on Redis' clock: nil when absent or past stale-until.
 * KEYS[1] the entry.
 */
export const GET_ENTRY = new Script<EntryReply | null>(
  `local f = redis.call('HMGET', KEYS[1], 'v', 'e', 's', 't', 'u')
if not f[1] or not f[2] or not f[3] then return false end
${REDIS_NOW}
local staleLeft = 'inf'
if f[3] ~= 'inf' then
  local left = tonumber(f[3]) - now
  if left <= 0 then return false end
  staleLeft = tostring(left)
end
local freshLeft = f[2] == 'inf' and 'inf' or tostring(tonumber(f[2]) - now)
return {f[1], freshLeft, staleLeft, f[4] or '', f[5] or ''}
`,
  (reply) => reply as EntryReply | null,
  true,
);

/**
 * Adds an entry's key to one tag set, which lives as long as its longest-lived member.
 * KEYS[1] the tag set; ARGV the entry's key, px (0: no expiry).
 */
export const ADD_TO_TAG = new Script<unknown>(`local px = tonumber(ARGV[2])
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
if px == 0 then
  redis.call('PERSIST', KEYS[1])
else
  local ttl = redis.call('PTTL', KEYS[1])
  if existed == 0 or (ttl >= 0 and ttl < px) then redis.call('PEXPIRE', KEYS[1], px) end
end
return 1
`);

/**
 * Deletes an entry if it still carries the tag (a key set again without it stays).
 * KEYS[1] the entry; ARGV[1] the tag. Returns 1 when deleted.
 */
export const DELETE_IF_TAGGED = new Script<number>(
  `local tags = redis.call('HGET', KEYS[1], 't')
if not tags then return 0 end
for _, tag in ipairs(cjson.decode(tags)) do
  if tag == ARGV[1] then return redis.call('DEL', KEYS[1]) end
end
return 0
`,
  Number,
);

/**
 * Takes a fill lock (`SET NX PX`), unless its token was given up before the command arrived
 * (see RELEASE_LOST_LOCK): a replayed acquire never takes a lock nobody will release. KEYS[1]
 * the lock, KEYS[2] its tombstones; ARGV token, lease ms. 1 when taken.
 */
export const ACQUIRE_LOCK = new Script<boolean>(
  `if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
`,
  (reply) => reply === 1,
);

/**
 * Releases a lock this process may hold without knowing it (its acquire got no answer): deletes
 * it if the token holds it, and otherwise leaves the token as a tombstone for the lease, so an
 * acquire that ioredis replays later does nothing. KEYS[1] the lock, KEYS[2] its tombstones;
 * ARGV token, lease ms (0: the acquire is known to have landed, no tombstone).
 */
export const RELEASE_LOST_LOCK = new Script<number>(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
if tonumber(ARGV[2]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 0
`,
  Number,
);

/** Releases a fill lock only if this token still holds it. KEYS[1] the lock; ARGV[1] token. */
export const RELEASE_LOCK = new Script<number>(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
  Number,
);
