import { Script } from '../shared/script.js';

// Redis' clock in ms since 2025-01-01 with its µs, where doubles still resolve nanoseconds:
// finer than REDIS_NOW's whole ms, and the time base buckets already in Redis were written in.
const NOW = `local time = redis.call('TIME')
local now = (time[1] - 1735689600) * 1000 + time[2] / 1000`;

/**
 * One step of the virtual-time bucket (`BucketRule` in @bulwark/rate-limit), atomically and on
 * Redis' own clock, so the app servers' clocks never matter. Redis writes a Lua number with
 * every digit it needs, so `tat` round-trips exactly. The key expires when the bucket is at rest
 * again, which is the same as no key. Needs Redis 5 or later (a script that reads TIME and then
 * writes is replicated by its effects).
 *
 * KEYS[1] the bucket; ARGV cost x interval (ms), tolerance (ms). Returns one integer: the
 * backlog before this take in whole microseconds (rounded up), or -1 minus it when refused.
 * An integer and no strings: this is the cheapest reply for Redis to build.
 */
export const TAKE = new Script<unknown>(`
${NOW}
local tat = tonumber(redis.call('GET', KEYS[1]))
local backlog = 0
if tat and tat > now then backlog = tat - now end
local after = backlog + ARGV[1]
if after > tonumber(ARGV[2]) then return -1 - math.ceil(backlog * 1000) end
redis.call('SET', KEYS[1], now + after, 'PX', math.ceil(after))
return math.ceil(backlog * 1000)
`);

/** The loop of TAKE over KEYS; `increment` and `tolerance` are Lua expressions of `i`. */
const takeEach = (increment: string, tolerance: string) => `
local out = {}
for i = 1, #KEYS do
  local tat = redis.pcall('GET', KEYS[i])
  if type(tat) == 'table' then
    out[i] = tat
  else
    tat = tonumber(tat)
    local backlog = 0
    if tat and tat > now then backlog = tat - now end
    local after = backlog + ${increment}
    if after > ${tolerance} then
      out[i] = -1 - math.ceil(backlog * 1000)
    else
      redis.call('SET', KEYS[i], now + after, 'PX', math.ceil(after))
      out[i] = math.ceil(backlog * 1000)
    end
  end
end
return out
`;

/**
 * TAKE for many takes in one round trip, in order, on one reading of TIME: KEYS[i] with
 * ARGV[2i-1], ARGV[2i]. A key that comes twice is taken twice, the second seeing the first.
 * Returns a flat array of TAKE's integers; a key that holds another type gets Redis' error in
 * its place and the other takes still count (a script error would drop their answers, not
 * their writes).
 */
export const TAKE_MANY = new Script<unknown>(
  `${NOW}${takeEach('tonumber(ARGV[2 * i - 1])', 'tonumber(ARGV[2 * i])')}`,
);

/** TAKE_MANY for takes that share one cost x interval and tolerance, sent once: ARGV[1], ARGV[2]. */
export const TAKE_SAME = new Script<unknown>(`${NOW}
local increment = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])${takeEach('increment', 'tolerance')}`);
