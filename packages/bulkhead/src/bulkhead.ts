import {
  BulkheadRejectedError,
  type CallContext,
  type InnerTask,
  isPromiseLike,
  type Policy,
  PolicyBase,
  RUN,
} from '@bulwark/core';
import { type BulkheadOptions, resolveBulkheadOptions } from './options.js';
import { type Waiting, WaitQueue } from './wait-queue.js';

export interface BulkheadPolicy extends Policy {
  /** Calls running now: at most `maxConcurrent`. */
  readonly executing: number;
  /** Calls waiting for a slot now: at most `maxQueue`. */
  readonly queued: number;
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
}

/** Why a call was turned away: no room anywhere, or its wait in the queue ran out. */
export type BulkheadRejectReason = 'full' | 'queue-timeout';

class Bulkhead extends PolicyBase implements BulkheadPolicy {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number | undefined;
  private running = 0;
  private readonly waiters: WaitQueue<Waiter>;

  constructor(options: BulkheadOptions) {
    super('bulkhead');
    const { maxConcurrent, maxQueue, queueTimeoutMs, clock } = resolveBulkheadOptions(options);
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
    this.queueTimeoutMs = queueTimeoutMs;
    this.waiters = new WaitQueue<Waiter>(queueTimeoutMs, clock, (waiter) => this.expire(waiter));
  }

  get executing(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiters.size;
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    // Nobody waits while a slot is free: a queued call takes over the slot its predecessor frees.
    if (this.running < this.maxConcurrent) {
      this.running++;
      return this.run(fn, ctx);
    }
    return this.enqueue(fn, ctx);
  }

  private run<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    let result: T | PromiseLike<T>;
    try {
      result = fn(ctx);
    } catch (error) {
      this.release();
      throw error;
    }
    if (!isPromiseLike(result)) {
      this.release();
      return result;
    }
    // Handlers made once per bulkhead, not per call. A foreign thenable is adopted first: it
    // could call back twice and free a slot it holds once.
    return (result instanceof Promise ? result : Promise.resolve(result)).then(
      this.released,
      this.failed,
    );
  }

  private readonly released = <T>(value: T): T => {
    this.release();
    return value;
  };

  private readonly failed = (error: unknown): never => {
    this.release();
    throw error;
  };

  /** Hands the freed slot to the first call in line, or frees it. */
  private release(): void {
    for (;;) {
      const waiter = this.waiters.shift();
      if (waiter === undefined) {
        this.running--;
        return;
      }
      if (this.start(waiter)) return;
      // It finished synchronously: the slot is free again for the next in line.
    }
  }

  /** Runs a queued call in the slot just freed; false if it finished at once. */
  private start(waiter: Waiter): boolean {
    let result: unknown;
    try {
      result = waiter.fn(waiter.ctx);
    } catch (error) {
      waiter.reject(error);
      return false;
    }
    if (!isPromiseLike(result)) {
      waiter.resolve(result);
      return false;
    }
    Promise.resolve(result).then(this.released, this.failed).then(waiter.resolve, waiter.reject);
    return true;
  }

  private enqueue<T>(fn: InnerTask<T>, ctx: CallContext): Promise<T> {
    const { scope } = ctx;
    if (scope?.aborted) throw scope.reason;
    if (this.waiters.size >= this.maxQueue) {
      if (this.listening) this.rejected('full');
      throw new BulkheadRejectedError(
        `bulkhead: full: ${this.running} running of maxConcurrent ${this.maxConcurrent}, ${this.waiters.size} queued of maxQueue ${this.maxQueue}`,
      );
    }
    const promise = new Promise<T>((resolve, reject) => {
      const waiter = new Waiter(this, fn as InnerTask<unknown>, ctx, resolve as never, reject);
      this.waiters.push(waiter);
      // Only a call that something can abort needs a listener; one it reads from a lazy scope
      // (an outer timeout's) builds that scope's signal, on this slow path only.
      if (scope !== undefined) waiter.listen(ctx.signal);
    });
    if (this.listening) this.emit('queued', { queued: this.waiters.size, executing: this.running });
    return promise;
  }

  /** @internal The caller (or an outer timeout) gave up on a queued call: it leaves at once. */
  abandon(waiter: Waiter, reason: unknown): void {
    this.waiters.remove(waiter);
    waiter.reject(reason);
  }

  private expire(waiter: Waiter): void {
    waiter.reject(
      new BulkheadRejectedError(
        `bulkhead: no slot came free within queueTimeoutMs (${this.queueTimeoutMs} ms) while the call waited in the queue`,
      ),
    );
    if (this.listening) this.rejected('queue-timeout');
  }

  private rejected(reason: BulkheadRejectReason): void {
    this.emit('rejected', { reason, executing: this.running, queued: this.waiters.size });
  }
}

/** A call waiting for a slot, and its abort listener (handleEvent: no closure per call). */
class Waiter implements Waiting {
  prev: Waiting | undefined = undefined;
  next: Waiting | undefined = undefined;
  due = 0;
  private signal: AbortSignal | undefined;

  constructor(
    private readonly bulkhead: Bulkhead,
    readonly fn: InnerTask<unknown>,
    readonly ctx: CallContext,
    readonly resolve: (value: unknown) => void,
    readonly reject: (error: unknown) => void,
  ) {}

  listen(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', this);
  }

  handleEvent(): void {
    const { signal } = this;
    if (signal !== undefined) this.bulkhead.abandon(this, signal.reason);
  }

  left(): void {
    const { signal } = this;
    if (signal === undefined) return;
    this.signal = undefined;
    signal.removeEventListener('abort', this);
  }
}

/**
 * Runs at most `maxConcurrent` calls at once; up to `maxQueue` more wait, first come first
 * served, for at most `queueTimeoutMs`. The rest are rejected with `BulkheadRejectedError`.
 * Events: `rejected` (reason 'full' | 'queue-timeout'), `queued`.
 */
export function bulkhead(options: BulkheadOptions): BulkheadPolicy {
  return new Bulkhead(options);
}
