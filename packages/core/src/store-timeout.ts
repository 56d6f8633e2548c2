import { type Clock, realClock } from './clock.js';
import { DeadlineQueue, type Expiring } from './deadline-queue.js';
import { StoreUnavailableError } from './errors.js';

/** One operation under a deadline: settled by its answer, its failure or the deadline. */
class Bounded<T> implements Expiring {
  settled = false;
  next: Expiring | undefined = undefined;

  constructor(
    private readonly timeout: StoreTimeout,
    readonly deadline: number,
    private readonly what: string,
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: unknown) => void,
    private readonly onLate: ((value: T) => void) | undefined,
  ) {}

  answered(value: T): void {
    if (this.settled) {
      this.onLate?.(value);
      return;
    }
    this.settled = true;
    this.timeout.queue.settled();
    this.resolve(value);
  }

  failed(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.timeout.queue.settled();
    this.reject(error);
  }

  expire(): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(
      new StoreUnavailableError(`${this.what} did not answer within ${this.timeout.timeoutMs} ms`),
    );
  }
}

/**
 * For store authors: every operation of a store bounded by the same `timeoutMs` on the store's
 * clock, with one timer for all of them (a reconnecting client or an exhausted pool must not
 * hold a call forever, and a timer per command costs as much as the command).
 */
export class StoreTimeout {
  /** @internal */
  readonly queue: DeadlineQueue;

  constructor(
    readonly clock: Clock,
    readonly timeoutMs: number,
  ) {
    this.queue = new DeadlineQueue(clock);
  }

  /**
   * Settles as `operation` does, or rejects with `StoreUnavailableError` ("`what` did not answer
   * within N ms") at the deadline. When the operation answers after that, `onLate(value)` gets
   * the value: a lock or a claim that lands late can be released instead of held for its lease.
   */
  bound<T>(operation: PromiseLike<T>, what: string, onLate?: (value: T) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = this.clock.now() + this.timeoutMs;
      const item = new Bounded(this, deadline, what, resolve, reject, onLate);
      this.queue.add(item);
      operation.then(
        (value) => item.answered(value),
        (error: unknown) => item.failed(error),
      );
    });
  }

  /** `bound`, with every other failure turned into a `StoreUnavailableError` whose cause it is. */
  guard<T>(operation: PromiseLike<T>, what: string, onLate?: (value: T) => void): Promise<T> {
    return this.bound(operation, what, onLate).catch((error: unknown) => {
      throw error instanceof StoreUnavailableError
        ? error
        : new StoreUnavailableError(`${what} failed: ${describeError(error)}`, { cause: error });
    });
  }
}

/** The message of an error a store reports, its first cause for a message-less AggregateError. */
export function describeError(error: unknown): string {
  // A refused connection to a host with two addresses is an AggregateError without a message.
  if (error instanceof AggregateError && !error.message && error.errors.length > 0) {
    return describeError(error.errors[0]);
  }
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * Settles like `operation`, or rejects with `StoreUnavailableError` after `timeoutMs` on `clock`.
 * Any other failure becomes a `StoreUnavailableError` with the original as `cause`. A store that
 * makes many calls keeps one `StoreTimeout` instead, so its calls share one timer.
 */
export function withStoreTimeout<T>(
  operation: PromiseLike<T>,
  timeoutMs: number,
  what: string,
  onLate?: (value: T) => void,
  clock: Clock = realClock,
): Promise<T> {
  return new StoreTimeout(clock, timeoutMs).guard(operation, what, onLate);
}
