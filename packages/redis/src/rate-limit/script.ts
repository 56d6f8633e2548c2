import { createHash } from 'node:crypto';

/**
 * One step of the virtual-time bucket (`BucketRule` in @bulwark/rate-limit), atomically and on
 * Redis' own clock, so the app servers' clocks never matter. Times are ms since 2025-01-01,
 * where doubles still resolve nanoseconds; Redis writes a Lua number with every digit it needs,
 * so `tat` round-trips exactly. The key expires when the bucket is at rest again, which is the
 * same as no key. Needs Redis 5 or later (a script that reads TIME and then writes is
 * replicated by its effects).
 *
 * KEYS[1] the bucket; ARGV cost x interval (ms), tolerance (ms). Returns one integer: the
 * backlog before this take in whole microseconds (rounded up), or -1 minus it when refused.
 * An integer and no strings: this is the cheapest reply for Redis to build.
 */
export const RATE_LIMIT_SCRIPT = `
local time = redis.call('TIME')
local now = (time[1] - 1735689600) * 1000 + time[2] / 1000
local tat = tonumber(redis.call('GET', KEYS[1]))
local backlog = 0
if tat and tat > now then backlog = tat - now end
local after = backlog + ARGV[1]
if after > tonumber(ARGV[2]) then return -1 - math.ceil(backlog * 1000) end
redis.call('SET', KEYS[1], now + after, 'PX', math.ceil(after))
return math.ceil(backlog * 1000)
`;

export const RATE_LIMIT_SCRIPT_SHA = createHash('sha1').update(RATE_LIMIT_SCRIPT).digest('hex');
