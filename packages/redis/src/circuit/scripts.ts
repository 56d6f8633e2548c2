import { REDIS_NOW, Script } from '../shared/script.js';
import { parseRelative, type RelativeRecord } from './record.js';

// Times are stored as Redis' own clock (ms) and travel as offsets from "now", in both
// directions: no app server's clock is ever compared with another's.

/**
 * Compare-and-set of a circuit's record, then PUBLISH of the change, in one atomic step.
 * KEYS[1] the circuit's hash, KEYS[2] its channel. ARGV: expected version, state, version,
 * entered, since (ms before now), consecutiveOpens, halfOpenAt (ms after now), lastWaitMs,
 * probes, successes, isolations, probe lease (ms), the message to publish. True when written,
 * false when the stored version differs. A half-open record is leased from now on each write.
 */
export const WRITE = new Script<boolean>(
  `${REDIS_NOW}
if tonumber(redis.call('HGET', KEYS[1], 'v') or '0') ~= tonumber(ARGV[1]) then return 0 end
local state = ARGV[2]
local halfOpenAt = 0
local lease = 0
if state == 'open' then halfOpenAt = now + ARGV[7] end
if state == 'half-open' then lease = now + ARGV[12] end
redis.call('HSET', KEYS[1], 's', state, 'v', ARGV[3], 'e', ARGV[4], 't', now - ARGV[5],
  'c', ARGV[6], 'h', halfOpenAt, 'w', ARGV[8], 'p', ARGV[9], 'k', ARGV[10], 'i', ARGV[11],
  'l', lease)
redis.call('PUBLISH', KEYS[2], ARGV[13])
return 1
`,
  (reply) => reply === 1,
);

/** A read's reply: the relative record, `null` for a circuit never written, `false` for a key not of this store. */
export type ReadReply = RelativeRecord | null | false;

/**
 * A circuit's record, its times turned into offsets from Redis' now: state, version, entered,
 * since (ms ago), consecutiveOpens, halfOpenAt (ms from now), lastWaitMs, probes, successes,
 * isolations, probe lease (ms from now). Nil when the circuit was never written.
 */
export const READ = new Script<ReadReply>(
  `
local r = redis.call('HMGET', KEYS[1], 's', 'v', 'e', 't', 'c', 'h', 'w', 'p', 'k', 'i', 'l')
if not r[1] then return false end
${REDIS_NOW}
r[4] = tostring(now - r[4])
if r[1] == 'open' then r[6] = tostring(r[6] - now) else r[6] = '0' end
if r[1] == 'half-open' then r[11] = tostring(r[11] - now) else r[11] = '0' end
return r
`,
  (reply) =>
    reply === null ? null : Array.isArray(reply) ? (parseRelative(reply) ?? false) : false,
);
