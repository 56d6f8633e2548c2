import { type Clock, sleep } from '@bulwark/core';
import type { CacheEntry, CacheStore } from './store.js';

/** What a cross-process fill needs from the policy that runs it. */
export interface LockedFill {
  readonly store: Required<Pick<CacheStore, 'acquireLock' | 'releaseLock'>>;
  readonly clock: Clock;
  readonly leaseMs: number;
  readonly waitMs: number;
  /** Reads the key, store errors reported and read as a miss. */
  read(key: string): Promise<CacheEntry | undefined>;
  /** Runs the loader and stores its value. */
  load(): Promise<unknown>;
  storeError(key: string, error: unknown, during: string): void;
  /** Throws when the call that leads the fill was aborted: waiting on is pointless. */
  checkAborted(): void;
}

const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 100;

/**
 * One loader for a key across processes: the process that takes the fill lock loads, the
 * others poll the store (5 ms, doubling up to 100 ms) until the value lands, the lock frees
 * up, or `waitMs` passes — then they load themselves rather than wait forever.
 */
export async function fillAcrossProcesses(key: string, fill: LockedFill): Promise<unknown> {
  const { store, clock } = fill;
  const deadline = clock.now() + fill.waitMs;
  let delay = FIRST_POLL_MS;
  for (;;) {
    let token: string | undefined;
    try {
      token = await store.acquireLock(key, fill.leaseMs);
    } catch (error) {
      fill.storeError(key, error, 'lock');
      return fill.load();
    }
    if (token !== undefined) {
      try {
        // Another process may have filled the key between our miss and our lock.
        const entry = await fill.read(key);
        if (entry !== undefined && clock.now() < entry.expiresAt) return entry.value;
        return await fill.load();
      } finally {
        store
          .releaseLock(key, token)
          .catch((error: unknown) => fill.storeError(key, error, 'unlock'));
      }
    }
    if (!(clock.now() < deadline)) return fill.load();
    await sleep(clock, Math.min(delay, Math.max(deadline - clock.now(), 1)));
    delay = Math.min(delay * 2, MAX_POLL_MS);
    fill.checkAborted();
    const entry = await fill.read(key);
    if (entry !== undefined && clock.now() < entry.expiresAt) return entry.value;
  }
}
