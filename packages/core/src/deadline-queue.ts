import type { Clock } from './clock.js';

/** Something that gives up at `deadline` unless it settled first. */
export interface Expiring {
  readonly deadline: number;
  readonly settled: boolean;
  next: Expiring | undefined;
  expire(): void;
}

/**
 * One timer for many waits of the same length, instead of one each (a setTimeout and its
 * clearTimeout cost about as much as a Redis command on the client). Every item waits the same
 * time, so deadlines come in the order items are added: a FIFO with one timer armed for its head
 * does. Settled items leave from the front at once, so the FIFO holds little more than what is
 * in flight. The timer is a 'call' timer, cancelled as soon as nothing waits.
 */
export class DeadlineQueue {
  private first: Expiring | undefined;
  private last: Expiring | undefined;
  private cancelTimer: (() => void) | undefined;

  constructor(private readonly clock: Clock) {}

  add(item: Expiring): void {
    if (this.last === undefined) this.first = item;
    else this.last.next = item;
    this.last = item;
    if (this.cancelTimer === undefined) this.arm(item.deadline);
  }

  /** Tells the FIFO that an item settled: it drops what settled at the front. */
  settled(): void {
    this.dropSettled();
    if (this.first === undefined && this.cancelTimer !== undefined) {
      this.cancelTimer();
      this.cancelTimer = undefined;
    }
  }

  private readonly fire = (): void => {
    this.cancelTimer = undefined;
    const now = this.clock.now();
    for (let item = this.first; item !== undefined && item.deadline <= now; item = this.first) {
      this.shift(item);
      if (!item.settled) item.expire();
    }
    this.dropSettled();
    if (this.first !== undefined) this.arm(this.first.deadline);
  };

  private dropSettled(): void {
    for (let item = this.first; item?.settled; item = this.first) this.shift(item);
  }

  private shift(item: Expiring): void {
    this.first = item.next;
    if (this.first === undefined) this.last = undefined;
    item.next = undefined;
  }

  private arm(deadline: number): void {
    this.cancelTimer = this.clock.setTimer(this.fire, deadline - this.clock.now(), 'call');
  }
}
