export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/**
 * A circuit's shared state: what a `CircuitStore` keeps, one record per circuit name. Records
 * are immutable; every change is a new record with `version + 1`, written by compare-and-set.
 */
export interface CircuitRecord {
  readonly state: CircuitState;
  /** 0 for a circuit never written; each write adds 1. */
  readonly version: number;
  /** The version of the write that entered the current state: names this stretch of the state. */
  readonly entered: number;
  /** Clock time of the last state change. */
  readonly since: number;
  /** Opens since the circuit was last closed: the argument of a `halfOpenAfterMs` backoff. */
  readonly consecutiveOpens: number;
  /** Open: the clock time from which a call may probe. */
  readonly halfOpenAt: number;
  /** How long the last open waited (0 once closed): a backoff's `previousMs`. */
  readonly lastWaitMs: number;
  /** Half-open: probes admitted and still running. */
  readonly probes: number;
  /** Half-open: probes that succeeded. */
  readonly successes: number;
  /** Isolated: `isolate()` holds not yet released. */
  readonly isolations: number;
  /**
   * Half-open, set by a networked store (a lease on the probes, so a fleet is not stuck if the
   * process probing dies): the clock time from which the running probes are presumed lost and a
   * call may probe again, in a new stretch of half-open. Absent: probes hold their places until
   * they settle. Records a breaker builds carry none; the store adds it when it stores them.
   */
  readonly probeLeaseUntil?: number;
}

/** A change to a record, or undefined when it no longer applies to the record it is given. */
export type Change = (record: CircuitRecord) => CircuitRecord | undefined;

export function initialRecord(now: number): CircuitRecord {
  return {
    state: 'closed',
    version: 0,
    entered: 0,
    since: now,
    consecutiveOpens: 0,
    halfOpenAt: 0,
    lastWaitMs: 0,
    probes: 0,
    successes: 0,
    isolations: 0,
  };
}

/** The same record, field for field. */
export function sameRecord(a: CircuitRecord, b: CircuitRecord): boolean {
  return (
    a.state === b.state &&
    a.version === b.version &&
    a.entered === b.entered &&
    a.since === b.since &&
    a.consecutiveOpens === b.consecutiveOpens &&
    a.halfOpenAt === b.halfOpenAt &&
    a.lastWaitMs === b.lastWaitMs &&
    a.probes === b.probes &&
    a.successes === b.successes &&
    a.isolations === b.isolations &&
    a.probeLeaseUntil === b.probeLeaseUntil
  );
}

function enter(
  r: CircuitRecord,
  state: CircuitState,
  now: number,
  fields: Partial<CircuitRecord>,
): CircuitRecord {
  const version = r.version + 1;
  return {
    ...r,
    probes: 0,
    successes: 0,
    ...fields,
    state,
    version,
    entered: version,
    since: now,
    probeLeaseUntil: undefined,
  };
}

function update(r: CircuitRecord, fields: Partial<CircuitRecord>): CircuitRecord {
  return { ...r, ...fields, version: r.version + 1, probeLeaseUntil: undefined };
}

export function opened(r: CircuitRecord, now: number, waitMs: number): CircuitRecord {
  return enter(r, 'open', now, {
    consecutiveOpens: r.consecutiveOpens + 1,
    halfOpenAt: now + waitMs,
    lastWaitMs: waitMs,
  });
}

export function closed(r: CircuitRecord, now: number): CircuitRecord {
  return enter(r, 'closed', now, {
    consecutiveOpens: 0,
    halfOpenAt: 0,
    lastWaitMs: 0,
    isolations: 0,
  });
}

/**
 * Admits one more probe: the first one turns an open circuit whose wait is over half-open; a
 * half-open circuit whose probes' lease ran out starts over with this one.
 */
export function claimProbe(
  r: CircuitRecord,
  now: number,
  maxProbes: number,
): CircuitRecord | undefined {
  if (r.state === 'open') {
    return now >= r.halfOpenAt ? enter(r, 'half-open', now, { probes: 1 }) : undefined;
  }
  if (r.state !== 'half-open') return undefined;
  if (r.probes + r.successes < maxProbes) return update(r, { probes: r.probes + 1 });
  // The probes' lease ran out: a new stretch of half-open, so their late outcomes count for nothing.
  if (r.probeLeaseUntil !== undefined && now >= r.probeLeaseUntil) {
    return enter(r, 'half-open', now, { probes: 1 });
  }
  return undefined;
}

export function probeSucceeded(r: CircuitRecord, now: number, maxProbes: number): CircuitRecord {
  return r.successes + 1 >= maxProbes
    ? closed(r, now)
    : update(r, { probes: r.probes - 1, successes: r.successes + 1 });
}

/** The same half-open stretch written again: a store that leases probes renews the lease. */
export function probeLeaseRenewed(r: CircuitRecord): CircuitRecord {
  return update(r, {});
}

/** A probe that counted for nothing (its caller aborted) gives its place back. */
export function probeDropped(r: CircuitRecord): CircuitRecord {
  return update(r, { probes: r.probes - 1 });
}

export function isolated(r: CircuitRecord, now: number): CircuitRecord {
  return r.state === 'isolated'
    ? update(r, { isolations: r.isolations + 1 })
    : enter(r, 'isolated', now, { isolations: 1 });
}

export function released(r: CircuitRecord, now: number): CircuitRecord {
  return r.isolations > 1 ? update(r, { isolations: r.isolations - 1 }) : closed(r, now);
}
