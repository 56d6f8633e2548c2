import type { PolicyEvent } from '@bulwark/core';
import { type ManualClock, manualClock } from '@bulwark/core/testing';
import {
  type IdempotencyOptions,
  type IdempotencyPolicy,
  type IdempotencyStore,
  idempotency,
  type MemoryIdempotencyStore,
  memoryIdempotencyStore,
} from '@bulwark/idempotency';

export { deferred } from '@bulwark/core/testing';

export interface Setup {
  clock: ManualClock;
  store: MemoryIdempotencyStore;
  policy: IdempotencyPolicy;
  events: PolicyEvent[];
  types: () => string[];
}

/** A policy on a manual clock over a memory store, with its events recorded. */
export function setup(options: Omit<IdempotencyOptions, 'clock'> = {}): Setup {
  const clock = manualClock(1_000_000);
  const store = memoryIdempotencyStore({ clock });
  const policy = idempotency({ store, clock, leaseMs: 3000, ...options });
  const events: PolicyEvent[] = [];
  policy.on((event) => events.push(event));
  return { clock, store, policy, events, types: () => events.map((e) => e.type) };
}

/** Wraps a store so each method can be made to fail or hang. */
export function faultyStore(
  inner: IdempotencyStore,
  faults: Partial<Record<keyof IdempotencyStore, () => unknown>>,
): IdempotencyStore {
  const wrapped = {} as Record<string, unknown>;
  for (const method of ['claim', 'renew', 'complete', 'release', 'get', 'delete'] as const) {
    wrapped[method] = (...args: unknown[]) => {
      const fault = faults[method];
      if (fault) return fault();
      return (inner[method] as (...a: unknown[]) => unknown).apply(inner, args);
    };
  }
  return wrapped as unknown as IdempotencyStore;
}
