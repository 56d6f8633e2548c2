import type { CallContext } from './context.js';
import type { EventHub } from './events.js';

/** What a policy hands the function it runs. */
export interface Context {
  /** Aborts when the caller cancels or a timeout fires. Built only when read. */
  readonly signal: AbortSignal;
  /** 1 on the first try, counted up by retry. */
  readonly attempt: number;
  /** Partition key for keyed policies (rate limit, idempotency, cache). */
  readonly key?: string | undefined;
}

export interface ExecuteOptions {
  /** Cancels the call: it rejects with `signal.reason`, untouched, and is never retried. */
  signal?: AbortSignal | undefined;
  /** Partition key for keyed policies. */
  key?: string | undefined;
}

/** Something that happened inside a policy: `{ policy: 'retry', type: 'retry', attempt: 2, ... }`. */
export interface PolicyEvent {
  readonly policy: string;
  readonly type: string;
  readonly [detail: string]: unknown;
}

export type PolicyListener = (event: PolicyEvent) => void;

export type Task<T> = (ctx: Context) => T | PromiseLike<T>;

export interface Policy {
  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T>;
  /** Hears the events of this policy and of every policy inside it. Returns the unsubscribe. */
  on(listener: PolicyListener): () => void;
}

/**
 * The method policies use to run one another without a new root context, so `attempt`, `key`
 * and the signal flow inward. Registered globally so copies of this package interoperate.
 */
export const RUN: unique symbol = Symbol.for('bulwark.policy.run');
/** The policy's event hub, so a pipeline can relay its members' events without listening eagerly. */
export const EVENTS: unique symbol = Symbol.for('bulwark.policy.events');

export type InnerTask<T> = (ctx: CallContext) => T | PromiseLike<T>;

/** A policy built on this package: it can run inside a pipeline and share its events. */
export interface ComposablePolicy extends Policy {
  /** May return synchronously or throw synchronously; callers handle both. */
  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T>;
  readonly [EVENTS]: EventHub;
}

export function isComposable(policy: Policy): policy is ComposablePolicy {
  return typeof (policy as Partial<ComposablePolicy>)[RUN] === 'function';
}

export function isPolicy(value: unknown): value is Policy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Policy).execute === 'function' &&
    typeof (value as Policy).on === 'function'
  );
}
