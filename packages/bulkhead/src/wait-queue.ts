import type { Clock } from '@bulwark/core';

/** A queued call; the queue links it in place, so leaving from anywhere in the queue is O(1). */
export interface Waiting {
  prev: Waiting | undefined;
  next: Waiting | undefined;
  /** When its queue wait runs out (only with a queue timeout). */
  due: number;
  /** It left the queue, by whatever way: stop listening for its abort. */
  left(): void;
}

/**
 * The calls waiting for a slot, first come first served. Every call waits at most the same
 * `timeoutMs`, so waits run out in queue order and one clock timer, armed for the head, serves
 * the whole queue.
 */
export class WaitQueue<W extends Waiting> {
  size = 0;
  private head: W | undefined;
  private tail: W | undefined;
  private cancelTimer: (() => void) | undefined;

  constructor(
    private readonly timeoutMs: number | undefined,
    private readonly clock: Clock,
    /** Called for each call whose wait ran out, after it left the queue. */
    private readonly onTimeout: (waiter: W) => void,
  ) {}

  push(waiter: W): void {
    waiter.next = undefined;
    waiter.prev = this.tail;
    if (this.tail === undefined) this.head = waiter;
    else this.tail.next = waiter;
    this.tail = waiter;
    this.size++;
    if (this.timeoutMs !== undefined) {
      waiter.due = this.clock.now() + this.timeoutMs;
      if (this.cancelTimer === undefined) this.arm(this.timeoutMs);
    }
  }

  /** The first call in line, out of the queue; undefined when nobody waits. */
  shift(): W | undefined {
    const head = this.head;
    if (head !== undefined) this.remove(head);
    return head;
  }

  /** Takes `waiter` out of the queue, wherever it stands; it must be in the queue. */
  remove(waiter: W): void {
    const { prev, next } = waiter;
    if (prev === undefined) this.head = next as W | undefined;
    else prev.next = next;
    if (next === undefined) this.tail = prev as W | undefined;
    else next.prev = prev;
    waiter.prev = waiter.next = undefined;
    this.size--;
    waiter.left();
    if (this.size === 0) this.disarm();
  }

  private readonly onTimer = (): void => {
    this.cancelTimer = undefined;
    const now = this.clock.now();
    // Read the head afresh each time: onTimeout settles promises and emits events.
    for (let head = this.head; head !== undefined && head.due <= now; head = this.head) {
      this.remove(head);
      this.onTimeout(head);
    }
    // The head's own deadline, or an earlier one it outlived: a timer that fires early re-arms.
    if (this.head !== undefined && this.cancelTimer === undefined) {
      this.arm(this.head.due - now);
    }
  };

  private arm(delay: number): void {
    this.cancelTimer = this.clock.setTimer(this.onTimer, delay, 'call');
  }

  private disarm(): void {
    const cancel = this.cancelTimer;
    if (cancel === undefined) return;
    this.cancelTimer = undefined;
    cancel();
  }
}
