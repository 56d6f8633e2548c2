import { randomUUID } from 'node:crypto';
import { isPromiseLike, StoreUnavailableError } from '@bulwark/core';
import { type Change, type CircuitRecord, initialRecord, sameRecord } from './record.js';
import type { CircuitListener, CircuitStatusListener, CircuitStore } from './store.js';

export interface CircuitEvents {
  /** The record entered another state, or another stretch of the same one (a reset). */
  changed(previous: CircuitRecord, next: CircuitRecord, remote: boolean): void;
  storeFailed(error: unknown): void;
  /** The store answered again after it failed. */
  storeRecovered(downMs: number): void;
}

// Compare-and-set conflicts in a row before a transition gives up; each one means another
// breaker changed the circuit, so a few are plenty.
const MAX_TRIES = 8;

/** A change on its way to the store, or a read of the stored record (`change` undefined). */
interface Job {
  readonly change: Change | undefined;
  /** Taken here before the store answers: every decision but a probe claim. */
  readonly local: boolean;
  /** What the change made of this breaker's record, once it is taken here. */
  shown: CircuitRecord | undefined;
  /** A queued claim's caller, waiting for the store's answer. */
  readonly resolve: ((ok: boolean) => void) | undefined;
}

const readJob = (): Job => ({
  change: undefined,
  local: false,
  shown: undefined,
  resolve: undefined,
});

/**
 * This breaker's copy of a circuit's record, kept in step with the store.
 *
 * A decision made on local evidence (an open, a probe's outcome, isolate, release, reset) takes
 * effect here at once and is published after: the store writes it by compare-and-set on the
 * version it was made on. When another breaker wrote first, this one reads the stored record,
 * adopts it, and applies its change again only where it still applies (an open only to the
 * closed stretch its failures were counted in; isolate and reset to any record). A probe claim
 * is the one decision that waits for the store, so that the fleet sends one probe.
 *
 * Writes go one at a time, in order. With a synchronous store (the memory one) each is done
 * before the call that made it returns. If the store fails, this breaker goes on alone.
 */
export class Circuit {
  /** What this breaker acts on: the stored record with its own decisions not yet written. */
  record: CircuitRecord;
  /** The store's record as last heard of; this breaker's own while it goes on alone. */
  private base: CircuitRecord;
  /** The base's current stretch was written by another breaker. */
  private baseRemote = false;
  /** Jobs in order; the first one runs while `busy`. */
  private readonly jobs: Job[] = [];
  private busy = false;
  /** The record being written: a store that does not name writers echoes it back unnamed. */
  private writing: CircuitRecord | undefined;
  // Held here because stores hold their watchers weakly.
  private readonly follow: CircuitListener;
  private readonly status: CircuitStatusListener;
  /** Names this breaker's writes: a store's echo of one is not another breaker's change. */
  private readonly writer = randomUUID();
  /** When the store failed, until it answers again: one store-error per outage. */
  private failedAt: number | undefined;

  constructor(
    private readonly store: CircuitStore,
    private readonly name: string,
    private readonly now: () => number,
    private readonly events: CircuitEvents,
  ) {
    this.record = this.base = initialRecord(now());
    this.follow = (record, writer) => {
      if (writer === this.writer || record.version <= this.base.version || this.isEcho(record)) {
        return;
      }
      this.base = record;
      this.baseRemote = true;
      this.show();
    };
    this.status = (status) => {
      if (status.available) this.resync();
      else this.failed(status.error);
    };
    store.watch?.(name, this.follow, this.status);
    void this.start(readJob());
  }

  /** How long the store leases a half-open probe, if it does. */
  get probeLeaseMs(): number | undefined {
    return this.store.probeLeaseMs;
  }

  /**
   * Takes `change` here at once and publishes it; false when it does not apply to this
   * breaker's record (or a synchronous store kept refusing it).
   */
  decide(change: Change): boolean {
    const job: Job = { change, local: true, shown: undefined, resolve: undefined };
    if (this.busy) {
      this.jobs.push(job);
      if (this.show(job)) return true;
      this.jobs.pop();
      return false;
    }
    const done = this.start(job);
    if (!isPromiseLike(done)) return done;
    // The store answers later: the decision does not wait for it.
    return this.show(job);
  }

  /**
   * Applies `change` once the store has taken it: true when it did, false when it no longer
   * applied (or the store kept refusing it). A promise unless the store answers synchronously.
   */
  claim(change: Change): boolean | Promise<boolean> {
    if (this.busy) {
      return new Promise((resolve) => {
        this.jobs.push({ change, local: false, shown: undefined, resolve });
      });
    }
    return this.start({ change, local: false, shown: undefined, resolve: undefined });
  }

  /**
   * Reads the stored record and adopts it whatever its version: after an outage the store's
   * state wins over what this breaker did alone (its writes never reached the store).
   */
  resync(): void {
    if (this.busy) this.jobs.push(readJob());
    else void this.start(readJob());
  }

  /** Runs `job` now: nothing else is running. */
  private start(job: Job): boolean | Promise<boolean> {
    this.jobs.push(job);
    this.busy = true;
    return this.run(job);
  }

  private run(job: Job): boolean | Promise<boolean> {
    const change = job.change;
    if (change === undefined) {
      return this.refresh(
        () => this.done(job, true),
        () => this.done(job, false),
      );
    }
    return this.attempt(job, change, 1);
  }

  private attempt(job: Job, change: Change, tries: number): boolean | Promise<boolean> {
    const base = this.base;
    const next = change(base);
    if (next === undefined) return this.done(job, false);
    let written: boolean | PromiseLike<boolean>;
    try {
      this.writing = next;
      written = this.store.write(this.name, base.version, next, this.writer);
    } catch (error) {
      return this.degrade(job, next, error);
    }
    if (!isPromiseLike(written)) return this.settle(job, change, next, written, tries);
    return Promise.resolve(written).then(
      (ok) => this.settle(job, change, next, ok, tries),
      (error: unknown) => this.degrade(job, next, error),
    );
  }

  private settle(
    job: Job,
    change: Change,
    next: CircuitRecord,
    ok: boolean,
    tries: number,
  ): boolean | Promise<boolean> {
    this.writing = undefined;
    this.answered();
    if (ok === true) {
      // A breaker told of this write may already have written a newer record on top of it.
      if (next.version > this.base.version) {
        this.base = next;
        this.baseRemote = false;
      }
      return this.done(job, true, next);
    }
    if (tries >= MAX_TRIES) {
      this.events.storeFailed(
        new StoreUnavailableError(
          `${this.name}: gave up after ${tries} write conflicts in a row: other breakers change this circuit faster than this one can write, so the change was dropped; if that is unexpected, check that unrelated circuits do not share this name`,
        ),
      );
      return this.done(job, false);
    }
    // Another breaker wrote first: its record wins, and the change is tried again on it.
    return this.refresh(
      () => this.attempt(job, change, tries + 1),
      (error) => {
        const alone = change(this.base);
        return alone === undefined ? this.done(job, false) : this.degrade(job, alone, error);
      },
    );
  }

  /** Adopts the stored record, then goes on. */
  private refresh(
    then: () => boolean | Promise<boolean>,
    orElse: (error: unknown) => boolean | Promise<boolean>,
  ): boolean | Promise<boolean> {
    const adoptStored = (stored: CircuitRecord | undefined) => {
      this.answered();
      // A record the store lost (flushed, expired) is a closed circuit at version 0.
      this.base = stored ?? initialRecord(this.now());
      this.baseRemote = true;
      this.show();
      return then();
    };
    const fail = (error: unknown) => {
      this.failed(error);
      return orElse(error);
    };
    let read: CircuitRecord | undefined | PromiseLike<CircuitRecord | undefined>;
    try {
      read = this.store.read(this.name);
    } catch (error) {
      return fail(error);
    }
    if (!isPromiseLike(read)) return adoptStored(read);
    return Promise.resolve(read).then(adoptStored, fail);
  }

  /** The store failed: this breaker applies the change on its own, so it still protects its calls. */
  private degrade(job: Job, next: CircuitRecord, error: unknown): boolean {
    this.writing = undefined;
    this.failed(error);
    this.base = next;
    this.baseRemote = false;
    return this.done(job, true, next);
  }

  private failed(error: unknown): void {
    if (this.failedAt !== undefined) return;
    this.failedAt = this.now();
    this.events.storeFailed(error);
  }

  private answered(): void {
    const failedAt = this.failedAt;
    if (failedAt === undefined) return;
    this.failedAt = undefined;
    this.events.storeRecovered(Math.max(0, this.now() - failedAt));
  }

  /** A record a store without writer names hands back while this breaker is writing it. */
  private isEcho(record: CircuitRecord): boolean {
    const w = this.writing;
    return (
      w?.version === record.version && w.entered === record.entered && w.state === record.state
    );
  }

  /**
   * The first job is over: the record is shown again (unless the store took just what was
   * shown), a waiting claim is told, and the next job starts.
   */
  private done(job: Job, result: boolean, written?: CircuitRecord): boolean {
    this.jobs.shift();
    this.busy = false;
    const shown = job.shown;
    if (written !== this.base || shown === undefined || !sameRecord(written, shown)) this.show();
    job.resolve?.(result);
    const head = this.jobs[0];
    if (head !== undefined) {
      this.busy = true;
      void this.run(head);
    }
    return result;
  }

  /**
   * Shows the base with this breaker's decisions not yet written on top: what it acts on. With
   * `taking`, a decision made just now joins them; returns whether that one applied.
   */
  private show(taking?: Job): boolean {
    let record = this.base;
    let remote = this.baseRemote;
    let applied = false;
    for (const job of this.jobs) {
      if (job !== taking && (!job.local || job.shown === undefined)) continue;
      const next = job.change!(record);
      job.shown = next ?? record;
      if (next === undefined) continue;
      if (job === taking) applied = true;
      if (next.entered !== record.entered) remote = false;
      record = next;
    }
    this.adopt(record, remote);
    return applied;
  }

  private adopt(next: CircuitRecord, remote: boolean): void {
    const previous = this.record;
    if (next === previous) return;
    this.record = next;
    if (next.entered !== previous.entered || next.state !== previous.state) {
      this.events.changed(previous, next, remote);
    }
  }
}
