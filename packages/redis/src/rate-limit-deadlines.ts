import type { Clock } from '@bulwark/core';

/** Something that gives up at `deadline` unless it settled first. */
export interface Expiring {
  readonly deadline: number;
  readonly settled: boolean;
  next: Expiring | undefined;
  expire(): void;
}

/**
 * One timer for all the takes in flight, instead of one each (a setTimeout and its
 * clearTimeout cost about as much as the rest of a take on the client). Every take waits the
 * same timeoutMs, so deadlines come in the order takes are sent: a FIFO with one timer armed
 * for its head does. Answers come back in order on a connection, so settled takes leave from
 * the front at once and the FIFO holds little more than what is in flight. The timer is a
 * 'call' timer, cancelled as soon as nothing is in flight.
 */
export class Deadlines {
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
