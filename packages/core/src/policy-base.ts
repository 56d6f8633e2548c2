import type { CallContext } from './context.js';
import { EventHub } from './events.js';
import { executeRoot } from './execute.js';
import {
  type ComposablePolicy,
  EVENTS,
  type ExecuteOptions,
  type InnerTask,
  type PolicyEvent,
  type PolicyListener,
  RUN,
  type Task,
} from './policy.js';

/**
 * What every bulwark policy shares: `execute` starts a call, `on` subscribes to events. A
 * policy implements `[RUN]`, which runs `fn` inside an existing call's context.
 */
export abstract class PolicyBase implements ComposablePolicy {
  readonly [EVENTS] = new EventHub((listening) => this.listeningChanged(listening));

  /** The `policy` field of this policy's events. */
  constructor(readonly name: string) {}

  abstract [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T>;

  execute<T>(fn: Task<T>, options?: ExecuteOptions): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(
        new TypeError(`${this.name}.execute: fn must be a function, got ${typeof fn}`),
      );
    }
    return executeRoot(this, fn, options?.signal, options?.key);
  }

  on(listener: PolicyListener): () => void {
    return this[EVENTS].listen(listener);
  }

  /** Emits `{ policy: this.name, type, ...detail }`; guard with `this.listening` to skip building it. */
  protected emit(type: string, detail?: Record<string, unknown>): void {
    const event: PolicyEvent = { ...detail, policy: this.name, type };
    this[EVENTS].emit(event);
  }

  /**
   * Called when the first listener (here or on a pipeline around this policy) arrives and when
   * the last one leaves: a policy that relays a shared store's events subscribes only meanwhile.
   */
  protected listeningChanged(_listening: boolean): void {}

  /** True when some listener will hear this policy's events. */
  protected get listening(): boolean {
    return this[EVENTS].listening;
  }
}
