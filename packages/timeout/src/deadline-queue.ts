import type { Clock } from '@bulwark/core';

/** A pending call in a DeadlineQueue; the queue links it in place, so removal allocates nothing. */
export interface Deadline {
  prev: Deadline | undefined;
  next: Deadline | undefined;
  /** When the call is due; undefined until stamped at the end of the tick it started in. */
  due: number | undefined;
  /** The deadline passed; the queue has already unlinked it. */
  expire(): void;
}

/**
 * The deadlines of one timeout policy. Every call gets the same `ms`, so deadlines fall due in
 * the order calls start: a FIFO needs no sorting, and one clock timer armed for the head serves
 * every call.
 *
 * Calls are timestamped and the timer armed once a tick, at its end (process.nextTick), not once
 * a call: a call that settles within the tick it started in could not have timed out, so it
 * costs neither a clock read nor a timer. A deadline is therefore never early, and late by at
 * most the rest of the tick the call started in, like any timer while the event loop is busy.
 * The timer is cancelled the moment the last pending call settles.
 */
export class DeadlineQueue {
  private head: Deadline | undefined;
  private tail: Deadline | undefined;
  private cancelTimer: (() => void) | undefined;
  private tickScheduled = false;

  constructor(
    private readonly ms: number,
    private readonly clock: Clock,
  ) {}

  add(entry: Deadline): void {
    entry.due = undefined;
    entry.next = undefined;
    entry.prev = this.tail;
    if (this.tail === undefined) this.head = entry;
    else this.tail.next = entry;
    this.tail = entry;
    if (!this.tickScheduled) this.scheduleTick();
  }

  /** Takes out a call that settled; `entry` must be in the queue. */
  remove(entry: Deadline): void {
    this.unlink(entry);
    // The last pending call settled: nothing may keep the process alive any longer.
    if (this.head === undefined) this.disarm();
  }

  private unlink(entry: Deadline): void {
    const { prev, next } = entry;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
  }

  private scheduleTick(): void {
    this.tickScheduled = true;
    process.nextTick(this.onTick);
  }

  private readonly onTick = (): void => {
    this.tickScheduled = false;
    const head = this.head;
    if (head === undefined) return; // every call of this tick settled within it
    const now = this.clock.now();
    this.stamp(now);
    if (this.cancelTimer === undefined) this.arm(head.due! - now);
  };

  private readonly onTimer = (): void => {
    this.cancelTimer = undefined;
    const now = this.clock.now();
    this.stamp(now);
    // Read the head afresh each time: expire() runs abort listeners, which may add or settle calls.
    for (let entry = this.head; entry?.due !== undefined && entry.due <= now; entry = this.head) {
      this.unlink(entry);
      entry.expire();
    }
    const head = this.head;
    // A head still unstamped was added by a listener just now; its tick arms the timer.
    if (head?.due !== undefined && this.cancelTimer === undefined) {
      this.arm(head.due - now);
    }
  };

  /** Gives the calls started since the last stamp (a suffix of the queue) their deadline. */
  private stamp(now: number): void {
    const due = now + this.ms;
    for (
      let entry = this.tail;
      entry !== undefined && entry.due === undefined;
      entry = entry.prev
    ) {
      entry.due = due;
    }
  }

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
