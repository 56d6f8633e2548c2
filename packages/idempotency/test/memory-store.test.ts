import { isResilienceError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import { memoryIdempotencyStore } from '@bulwark/idempotency';
import { describe, expect, it } from 'vitest';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('memoryIdempotencyStore', () => {
  const clock = manualClock(1_000_000);
  return {
    store: memoryIdempotencyStore({ clock }),
    clock,
    wait: (ms) => clock.advance(ms),
    shortLeaseMs: 200,
    longLeaseMs: 10_000,
    renewedLeaseMs: 300,
  };
});

const DAY = 86_400_000;

describe('memoryIdempotencyStore bounds', () => {
  it('evicts the least recently used completed record when full', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ maxKeys: 2, clock });
    for (const key of ['a', 'b']) {
      const claim = store.claim(key, 'fp', 1000, DAY);
      if (claim.status === 'claimed') store.complete(key, claim.token, `v${key}`, DAY);
    }
    store.claim('a', 'fp', 1000, DAY); // a replay makes 'a' recently used
    expect(store.claim('c', 'fp', 1000, DAY).status).toBe('claimed');
    expect(store.size).toBe(2);
    expect(store.get('b')).toBeUndefined();
    expect(store.get('a')?.state).toBe('completed');
  });

  it('evicts a claim whose lease expired when no completed record is left', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ maxKeys: 1, clock });
    store.claim('crashed', 'fp', 1000, DAY);
    await clock.advance(1000);
    expect(store.claim('next', 'fp', 1000, DAY).status).toBe('claimed');
    expect(store.get('crashed')).toBeUndefined();
  });

  it('refuses a new key with StoreUnavailableError rather than drop a live claim', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ maxKeys: 1, clock });
    store.claim('running', 'fp', 1000, DAY);
    await clock.advance(400);
    let error: unknown;
    try {
      store.claim('next', 'fp', 1000, DAY);
    } catch (e) {
      error = e;
    }
    expect(isResilienceError(error, 'STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/all 1 keys are in progress; raise maxKeys/);
    expect((error as { retryAfterMs: number }).retryAfterMs).toBe(600);
    expect(store.get('running')?.state).toBe('in-progress');
  });

  it('still answers for a key it holds when full', () => {
    const store = memoryIdempotencyStore({ maxKeys: 1, clock: manualClock() });
    store.claim('running', 'fp', 1000, DAY);
    expect(store.claim('running', 'fp', 1000, DAY).status).toBe('in-progress');
  });

  it('drops expired completed records as new keys arrive, without a timer', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ clock });
    for (const key of ['a', 'b', 'c', 'd']) {
      const claim = store.claim(key, 'fp', 100, 100);
      if (claim.status === 'claimed') store.complete(key, claim.token, 'v1', 100);
    }
    await clock.advance(100);
    store.claim('e', 'fp', 100, 100);
    store.claim('f', 'fp', 100, 100);
    expect(store.size).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('forgets an in-progress record ttlMs after its claim', async () => {
    const clock = manualClock();
    const store = memoryIdempotencyStore({ clock });
    store.claim('a', 'fp', 100, 500);
    await clock.advance(500);
    expect(store.get('a')).toBeUndefined();
    expect(store.claim('a', 'other', 100, 500).status).toBe('claimed');
  });

  it('validates its options', () => {
    expect(() => memoryIdempotencyStore({ maxKeys: 0 })).toThrow(
      'memoryIdempotencyStore: maxKeys must be an integer >= 1, got 0',
    );
    expect(() => memoryIdempotencyStore({ clock: {} as never })).toThrow(TypeError);
  });
});
