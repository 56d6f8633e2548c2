import { createHash } from 'node:crypto';

/** A Lua script and its SHA1, for EVALSHA with an EVAL fallback. */
export interface IdempotencyScript {
  readonly lua: string;
  readonly sha: string;
}

function script(lua: string): IdempotencyScript {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

// Time from Redis itself, so processes with skewed clocks agree on leases. Effect replication
// (the default since Redis 5) lets a script that read TIME write.
const NOW = `if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local nowUs = tonumber(time[1]) * 1000000 + tonumber(time[2])
local now = math.floor(nowUs / 1000)
`;

// %.0f: large numbers as plain digits (tostring would print 1.7e+15 and lose digits).
const FMT = `local function int(n) return string.format('%.0f', n) end
`;

/**
 * One hash per key: s = state ('p' in progress, 'c' completed), f = fingerprint, t = token,
 * l = lease end (ms, Redis time), r = result. Retention is the key's PEXPIRE.
 */
export const claimScript = script(`${NOW}${FMT}
local key = KEYS[1]
local fp, leaseMs, ttlMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local rec = redis.call('HMGET', key, 's', 'f', 't', 'l')
local takeover = 0
if rec[1] then
  if rec[2] ~= fp then return {'mismatch'} end
  if rec[1] == 'c' then return {'completed', redis.call('HGET', key, 'r')} end
  local left = tonumber(rec[4]) - now
  if left > 0 then return {'in-progress', left} end
  takeover = 1
end
local token = nowUs
if rec[3] and tonumber(rec[3]) >= token then token = tonumber(rec[3]) + 1 end
token = int(token)
redis.call('HSET', key, 's', 'p', 'f', fp, 't', token, 'l', int(now + leaseMs))
redis.call('PEXPIRE', key, ttlMs)
return {'claimed', token, takeover}
`);

export const renewScript = script(`${NOW}${FMT}
local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 't')
if rec[1] ~= 'p' or rec[2] ~= ARGV[1] then return 0 end
redis.call('HSET', key, 'l', int(now + tonumber(ARGV[2])))
local ttlMs = tonumber(ARGV[3])
if redis.call('PTTL', key) < ttlMs then redis.call('PEXPIRE', key, ttlMs) end
return 1
`);

export const completeScript = script(`
local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 't')
if rec[1] ~= 'p' or rec[2] ~= ARGV[1] then return 0 end
redis.call('HSET', key, 's', 'c', 'r', ARGV[2])
redis.call('HDEL', key, 'l')
redis.call('PEXPIRE', key, ARGV[3])
return 1
`);

export const releaseScript = script(`
local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 't')
if rec[1] ~= 'p' or rec[2] ~= ARGV[1] then return 0 end
redis.call('DEL', key)
return 1
`);

export const getScript = script(`${NOW}
local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 'f', 't', 'l', 'r')
if not rec[1] then return false end
local left = false
if rec[1] == 'p' then left = tonumber(rec[4]) - now end
return {rec[1], rec[2], rec[3], left, rec[5], redis.call('PTTL', key)}
`);
