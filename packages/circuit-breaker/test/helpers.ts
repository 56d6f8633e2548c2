import type { Policy, PolicyEvent } from '@bulwark/core';
import { type Deferred, deferred as deferredOf } from '@bulwark/core/testing';

export type { Deferred };

export const outage = new Error('dependency down');
export const ok = async () => 'ok';
export const fail = async (): Promise<never> => {
  throw outage;
};

/** Runs `n` failing calls and checks each reached fn and failed with its own error. */
export async function failCalls(policy: Policy, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expectRejects(policy.execute(fail), outage);
}

export async function passCalls(policy: Policy, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await policy.execute(ok);
}

async function expectRejects(promise: Promise<unknown>, error: unknown): Promise<void> {
  try {
    await promise;
  } catch (thrown) {
    if (thrown !== error) throw thrown;
    return;
  }
  throw new Error('expected the call to fail');
}

/** The error a call rejected with, or a marker when it did not. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  return 'did not reject';
}

/** A deferred call result; a string unless told otherwise, as these tests' calls return. */
export function deferred<T = string>(): Deferred<T> {
  return deferredOf<T>();
}

/** Every event the policy emits, in order. */
export function record(policy: Policy): PolicyEvent[] {
  const events: PolicyEvent[] = [];
  policy.on((event) => events.push(event));
  return events;
}

export const types = (events: PolicyEvent[]) => events.map((e) => e.type);
