/**
 * `'call'`: a pending call waits on it (a retry delay, a deadline, a queue wait), so it keeps
 * the process alive. `'background'`: housekeeping (sweeps, flushes, windows) that never does.
 */
export type TimerKind = 'call' | 'background';

/** Time as policies see it; inject `manualClock()` from `@bulwark/core/testing` in tests. */
export interface Clock {
  /** Milliseconds; only differences matter. */
  now(): number;
  /** Runs `callback` after `ms`; the returned function cancels it. */
  setTimer(callback: () => void, ms: number, kind?: TimerKind): () => void;
}

// setTimeout fires at once (with a warning) past 2^31-1 ms; longer waits are chained.
const MAX_TIMEOUT_MS = 2_147_483_647;

function setRealTimer(callback: () => void, ms: number, kind: TimerKind = 'call'): () => void {
  let handle: NodeJS.Timeout;
  const arm = (remaining: number) => {
    const last = !(remaining > MAX_TIMEOUT_MS);
    handle = last
      ? setTimeout(callback, Math.max(remaining, 0) || 0)
      : setTimeout(() => arm(remaining - MAX_TIMEOUT_MS), MAX_TIMEOUT_MS);
    if (kind === 'background') handle.unref();
  };
  arm(ms);
  return () => clearTimeout(handle);
}

const origin = performance.timeOrigin;

/** Real time: monotonic, starting from the Unix epoch at process start. */
export const realClock: Clock = Object.freeze({
  now: () => origin + performance.now(),
  setTimer: setRealTimer,
});
