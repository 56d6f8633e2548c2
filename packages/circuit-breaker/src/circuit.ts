import { randomUUID } from 'node:crypto';
import { isPromiseLike, StoreUnavailableError } from '@bulwark/core';
import { type Change, type CircuitRecord, initialRecord } from './record.js';
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

/**
 * This breaker's copy of a circuit's record, kept in step with the store. Transitions run one at
 * a time: a change is computed on the latest record, written by compare-and-set, and re-run on
 * the fresh record when another breaker wrote first. With a synchronous store (the memory one)
 * everything happens before `commit` returns. If the store fails, the change applies here alone.
 */
export class Circuit {
  record: CircuitRecord;
  private busy = false;
  // The record this breaker is writing: a synchronous store may hand it back through watch.
  private writing: CircuitRecord | undefined;
  private readonly queue: Array<() => void> = [];
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
    this.record = initialRecord(now());
    this.follow = (record, writer) => {
      if (record !== this.writing && record.version >= this.record.version)
        this.adopt(record, writer !== this.writer);
    };
    this.status = (status) => {
      if (status.available) this.resync();
      else this.failed(status.error);
    };
    store.watch?.(name, this.follow, this.status);
    this.busy = true;
    this.refresh(() => this.finish(true));
  }

  /** How long the store leases a half-open probe, if it does. */
  get probeLeaseMs(): number | undefined {
    return this.store.probeLeaseMs;
  }

  /**
   * Applies `change`; true when it took effect, false when it no longer applied (or the store
   * kept refusing it). A promise only when the store answers with one or a transition is running.
   */
  commit(change: Change): boolean | Promise<boolean> {
    if (!this.busy) {
      this.busy = true;
      return this.attempt(change, 1);
    }
    return new Promise((resolve) => {
      this.queue.push(() => resolve(this.attempt(change, 1)));
    });
  }

  /**
   * Reads the stored record and adopts it whatever its version: after an outage the store's
   * state wins over what this breaker did alone (its writes never reached the store).
   */
  resync(): void {
    const run = () => void this.refresh(() => this.finish(true));
    if (this.busy) {
      this.queue.push(run);
      return;
    }
    this.busy = true;
    run();
  }

  private attempt(change: Change, tries: number): boolean | Promise<boolean> {
    const base = this.record;
    const next = change(base);
    if (next === undefined) return this.finish(false);
    let written: boolean | PromiseLike<boolean>;
    try {
      this.writing = next;
      written = this.store.write(this.name, base.version, next, this.writer);
    } catch (error) {
      return this.finish(this.degrade(next, error));
    } finally {
      this.writing = undefined;
    }
    const settle = (ok: boolean): boolean | Promise<boolean> => {
      this.answered();
      if (ok === true) {
        // A breaker told of this write may already have written a newer record on top of it.
        if (next.version > this.record.version) this.adopt(next, false);
        return this.finish(true);
      }
      if (tries >= MAX_TRIES) {
        this.events.storeFailed(
          new StoreUnavailableError(`${this.name}: gave up after ${tries} write conflicts`),
        );
        return this.finish(false);
      }
      return this.refresh(() => this.attempt(change, tries + 1));
    };
    if (!isPromiseLike(written)) return settle(written);
    return Promise.resolve(written).then(settle, (error: unknown) =>
      this.finish(this.degrade(next, error)),
    );
  }

  /** Adopts the stored record, then goes on. */
  private refresh(then: () => boolean | Promise<boolean>): boolean | Promise<boolean> {
    const adoptStored = (stored: CircuitRecord | undefined) => {
      this.answered();
      // A record the store lost (flushed, expired) is a closed circuit at version 0.
      this.adopt(stored ?? initialRecord(this.now()), true);
      return then();
    };
    let read: CircuitRecord | undefined | PromiseLike<CircuitRecord | undefined>;
    try {
      read = this.store.read(this.name);
    } catch (error) {
      this.failed(error);
      return this.finish(false);
    }
    if (!isPromiseLike(read)) return adoptStored(read);
    return Promise.resolve(read).then(adoptStored, (error: unknown) => {
      this.failed(error);
      return this.finish(false);
    });
  }

  /** The store failed: this breaker applies the change on its own, so it still protects its calls. */
  private degrade(next: CircuitRecord, error: unknown): boolean {
    this.failed(error);
    this.adopt(next, false);
    return true;
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

  private finish(result: boolean): boolean {
    this.busy = false;
    const run = this.queue.shift();
    if (run !== undefined) {
      this.busy = true;
      run();
    }
    return result;
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
