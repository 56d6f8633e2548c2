import type { CircuitRecord, CircuitState } from '@bulwark/circuit-breaker';

/**
 * A circuit's record as it travels to and from Redis: its clock times (`since`, `halfOpenAt`,
 * `probeLeaseUntil`) turned into offsets from the moment it is sent or read, so each host
 * converts them on its own clock and no two hosts' clocks are ever compared:
 * [state, version, entered, since (ms ago), consecutiveOpens, halfOpenAt (ms ahead), lastWaitMs,
 * probes, successes, isolations, probe lease (ms ahead)].
 */
export type RelativeRecord = [
  state: CircuitState,
  version: number,
  entered: number,
  sinceAgoMs: number,
  consecutiveOpens: number,
  halfOpenInMs: number,
  lastWaitMs: number,
  probes: number,
  successes: number,
  isolations: number,
  leaseInMs: number,
];

const STATES: ReadonlySet<unknown> = new Set(['closed', 'open', 'half-open', 'isolated']);

/** `record` as offsets from `now` on the writer's clock; a half-open record gets `leaseMs`. */
export function toRelative(record: CircuitRecord, now: number, leaseMs: number): RelativeRecord {
  const { state } = record;
  return [
    state,
    record.version,
    record.entered,
    Math.max(0, Math.round(now - record.since)),
    record.consecutiveOpens,
    state === 'open' ? Math.round(record.halfOpenAt - now) : 0,
    record.lastWaitMs,
    record.probes,
    record.successes,
    record.isolations,
    state === 'half-open' ? leaseMs : 0,
  ];
}

/**
 * `values` (a relative record as strings or numbers: a script's reply, a published message) as
 * a relative record; undefined when they are not one (a key or a message not of this store).
 */
export function parseRelative(values: readonly unknown[]): RelativeRecord | undefined {
  const state = values[0];
  if (values.length !== 11 || !STATES.has(state)) return undefined;
  const parsed: unknown[] = [state];
  for (let i = 1; i < 11; i++) {
    const value = Number(values[i]);
    if (!Number.isFinite(value) || values[i] === '' || values[i] === null) return undefined;
    parsed.push(value);
  }
  return parsed as RelativeRecord;
}

/** The record a relative record describes, on the reader's clock at `now`. */
export function fromRelative(r: RelativeRecord, now: number): CircuitRecord {
  const state = r[0];
  const record: CircuitRecord = {
    state,
    version: r[1],
    entered: r[2],
    since: now - r[3],
    consecutiveOpens: r[4],
    halfOpenAt: state === 'open' ? now + r[5] : 0,
    lastWaitMs: r[6],
    probes: r[7],
    successes: r[8],
    isolations: r[9],
  };
  return state === 'half-open' ? { ...record, probeLeaseUntil: now + r[10] } : record;
}
