import type { ClaimResult, IdempotencyRecord } from '@bulwark/idempotency';
import { REDIS_NOW, Script } from '../shared/script.js';

const WHERE = 'redisIdempotencyStore';

// %.0f: large numbers as plain digits (tostring would print 1.7e+15 and lose digits).
const FMT = `local function int(n) return string.format('%.0f', n) end
`;

function toClaim(reply: unknown): ClaimResult {
  const [status, a, b] = reply as [string, unknown, unknown];
  switch (status) {
    case 'claimed':
      return { status: 'claimed', token: Number(a), takeover: b === 1 };
    case 'in-progress':
      return { status: 'in-progress', retryAfterMs: Number(a) };
    case 'completed':
      return { status: 'completed', result: typeof a === 'string' ? a : '' };
    case 'mismatch':
      return { status: 'mismatch' };
    case 'abandoned':
      // Only a claim that arrives after its caller gave up gets this; nobody waits for it.
      return { status: 'in-progress', retryAfterMs: 0 };
  }
  throw new Error(
    `${WHERE}: unexpected reply to claim: ${JSON.stringify(reply)}; is another program writing under this prefix?`,
  );
}

function toRecord(reply: unknown): IdempotencyRecord | undefined {
  if (reply === null) return undefined;
  const [state, fingerprint, token, left, result, pttl] = reply as [
    string,
    string,
    string,
    number | null,
    string | null,
    number,
  ];
  return {
    state: state === 'c' ? 'completed' : 'in-progress',
    fingerprint,
    token: Number(token),
    leaseRemainingMs: state === 'c' ? undefined : Number(left),
    result: result ?? undefined,
    expiresInMs: pttl,
  };
}

const toBoolean = (reply: unknown): boolean => reply === 1;

/**
 * One hash per key: s = state ('p' in progress, 'c' completed), f = fingerprint, t = token,
 * l = lease end (ms, Redis time), n = the claim's nonce, r = result. Retention is the key's
 * PEXPIRE. Time is Redis' own, so processes with skewed clocks agree on leases. KEYS[2] holds
 * the nonces of claims abandoned before they arrived (see abandonScript): such a claim does
 * nothing.
 */
export const claimScript = new Script<ClaimResult>(
  `${REDIS_NOW}
${FMT}
local key = KEYS[1]
local fp, leaseMs, ttlMs, nonce = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
if redis.call('SREM', KEYS[2], nonce) == 1 then return {'abandoned'} end
local rec = redis.call('HMGET', key, 's', 'f', 't', 'l')
local takeover = 0
if rec[1] then
  if rec[2] ~= fp then return {'mismatch'} end
  if rec[1] == 'c' then return {'completed', redis.call('HGET', key, 'r')} end
  local left = tonumber(rec[4]) - now
  if left > 0 then return {'in-progress', left} end
  takeover = 1
end
local token = tonumber(time[1]) * 1000000 + tonumber(time[2])
if rec[3] and tonumber(rec[3]) >= token then token = tonumber(rec[3]) + 1 end
token = int(token)
redis.call('HSET', key, 's', 'p', 'f', fp, 't', token, 'l', int(now + leaseMs), 'n', nonce)
redis.call('PEXPIRE', key, ttlMs)
return {'claimed', token, takeover}
`,
  toClaim,
);

export const renewScript = new Script<boolean>(
  `${REDIS_NOW}
${FMT}
local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 't')
if rec[1] ~= 'p' or rec[2] ~= ARGV[1] then return 0 end
redis.call('HSET', key, 'l', int(now + tonumber(ARGV[2])))
local ttlMs = tonumber(ARGV[3])
if redis.call('PTTL', key) < ttlMs then redis.call('PEXPIRE', key, ttlMs) end
return 1
`,
  toBoolean,
);

export const completeScript = new Script<boolean>(
  `local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 't')
if rec[1] ~= 'p' or rec[2] ~= ARGV[1] then return 0 end
redis.call('HSET', key, 's', 'c', 'r', ARGV[2])
redis.call('HDEL', key, 'l', 'n')
redis.call('PEXPIRE', key, ARGV[3])
return 1
`,
  toBoolean,
);

export const releaseScript = new Script<boolean>(
  `local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 't')
if rec[1] ~= 'p' or rec[2] ~= ARGV[1] then return 0 end
redis.call('DEL', key)
return 1
`,
  toBoolean,
);

/**
 * Frees a claim whose answer never reached us (timed out, dropped by ioredis' commandTimeout,
 * replayed after a reconnect): by its nonce, since its token is unknown; only while that claim
 * still holds the key. A claim that has not arrived yet (ioredis replays it after the reconnect,
 * maybe after this) finds its nonce in KEYS[2] and does nothing: order does not matter. The
 * tombstone lives as long as the claim's record would have (ARGV[2], its ttlMs).
 */
export const abandonScript = new Script<boolean>(
  `local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 'n')
if rec[1] == 'p' and rec[2] == ARGV[1] then
  redis.call('DEL', key)
  return 1
end
if rec[2] == ARGV[1] then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 0
`,
  toBoolean,
);

export const getScript = new Script<IdempotencyRecord | undefined>(
  `${REDIS_NOW}
local key = KEYS[1]
local rec = redis.call('HMGET', key, 's', 'f', 't', 'l', 'r')
if not rec[1] then return false end
local left = false
if rec[1] == 'p' then left = tonumber(rec[4]) - now end
return {rec[1], rec[2], rec[3], left, rec[5], redis.call('PTTL', key)}
`,
  toRecord,
);
