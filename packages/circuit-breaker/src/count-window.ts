import type { OutcomeWindow } from './outcome-window.js';

const FAILED = 1;
const SLOW = 2;

/** The last `size` calls, in a ring buffer of outcome bits: adding a call costs O(1). */
export class CountWindow implements OutcomeWindow {
  calls = 0;
  failures = 0;
  slowCalls = 0;
  private readonly outcomes: Uint8Array;
  private next = 0;

  constructor(readonly size: number) {
    this.outcomes = new Uint8Array(size);
  }

  add(_now: number, failed: boolean, slow: boolean): void {
    const i = this.next;
    if (this.calls === this.size) {
      const evicted = this.outcomes[i]!;
      this.failures -= evicted & FAILED;
      this.slowCalls -= evicted >> 1;
    } else {
      this.calls++;
    }
    const outcome = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    this.outcomes[i] = outcome;
    this.failures += outcome & FAILED;
    this.slowCalls += outcome >> 1;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  advance(): void {}

  clear(): void {
    // Slots are overwritten before they are evicted, so the buffer itself needs no zeroing.
    this.calls = 0;
    this.failures = 0;
    this.slowCalls = 0;
    this.next = 0;
  }
}
