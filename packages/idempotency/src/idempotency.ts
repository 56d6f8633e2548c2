import {
  type CallContext,
  type Context,
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  type InnerTask,
  isResilienceError,
  type Policy,
  PolicyBase,
  RUN,
  raceAbort,
  rootContext,
  StoreUnavailableError,
} from '@bulwark/core';
import { IdempotencyLeaseLostError } from './errors.js';
import { checkFingerprint, checkKey } from './key.js';
import { type LeaseOwner, LeaseRenewer } from './lease.js';
import { type IdempotencyOptions, resolveIdempotencyOptions } from './options.js';
import { decodeOutcome, encodeError, encodeValue } from './outcome.js';
import type { Serializer } from './serializer.js';
import type { ClaimResult, IdempotencyStore } from './store.js';

/** What `run` calls: the Context, and the fencing token of this call's claim. */
export type IdempotentTask<T> = (ctx: Context, token: number) => T | PromiseLike<T>;

export interface RunOptions {
  /** Stops the wait: the call rejects with `signal.reason` (fn, once started, runs on). */
  signal?: AbortSignal | undefined;
}

export interface IdempotencyPolicy extends Policy {
  /**
   * Runs `fn(ctx, token)` once per key. A repeat with the same fingerprint gets the stored
   * result (or the stored final error); another fingerprint: `IdempotencyKeyReusedError`;
   * while the first runs: `IdempotencyInProgressError`.
   */
  run<T>(key: string, fingerprint: string, fn: IdempotentTask<T>, options?: RunOptions): Promise<T>;
  readonly store: IdempotencyStore;
  readonly ttlMs: number;
  readonly leaseMs: number;
}

// execute() has no fingerprint: every call of a key counts as the same request.
const NO_FINGERPRINT = '-';

type Body<T> = (ctx: CallContext, token: number) => T | PromiseLike<T>;

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

class Idempotency extends PolicyBase implements IdempotencyPolicy {
  readonly store: IdempotencyStore;
  readonly ttlMs: number;
  readonly leaseMs: number;
  private readonly storeError: ((error: unknown) => boolean) | undefined;
  private readonly serializer: Serializer;
  private readonly leases: LeaseRenewer;

  constructor(options: IdempotencyOptions | undefined) {
    super('idempotency');
    const o = resolveIdempotencyOptions(options);
    this.store = o.store;
    this.ttlMs = o.ttlMs;
    this.leaseMs = o.leaseMs;
    this.storeError = o.storeError;
    this.serializer = o.serializer;
    // Renewed every leaseMs / 3: one slow or failed renewal does not cost the lease.
    const renewEveryMs = Math.max(1, Math.floor(o.leaseMs / 3));
    const owner: LeaseOwner = {
      renew: (key, token) => this.store.renew(key, token, this.leaseMs, this.ttlMs),
      renewed: (key, token) => {
        if (this.listening) this.emit('lease-renewed', { key, token });
      },
      lost: (key, token) => {
        if (this.listening) this.emit('stale', { key, token, operation: 'renew' });
      },
      renewFailed: (key, token, error) => {
        if (this.listening) this.emit('store-error', { key, token, operation: 'renew', error });
      },
    };
    this.leases = new LeaseRenewer(owner, o.clock, renewEveryMs);
  }

  run<T>(
    key: string,
    fingerprint: string,
    fn: IdempotentTask<T>,
    options?: RunOptions,
  ): Promise<T> {
    const signal = options?.signal;
    let promise: Promise<T>;
    try {
      checkKey('idempotency.run', key);
      checkFingerprint('idempotency.run', fingerprint);
      if (typeof fn !== 'function') {
        throw new TypeError(`idempotency.run: fn must be a function, got ${typeof fn}`);
      }
      if (signal?.aborted) return Promise.reject(signal.reason);
      promise = this.call(key, fingerprint, fn, rootContext(signal, key));
    } catch (error) {
      return Promise.reject(error);
    }
    return signal ? raceAbort(promise, signal) : promise;
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): Promise<T> {
    if (ctx.key === undefined) {
      throw new TypeError(
        'idempotency.execute: a key is required: execute(fn, { key }), or run(key, fingerprint, fn)',
      );
    }
    return this.call(checkKey('idempotency.execute', ctx.key), NO_FINGERPRINT, fn, ctx);
  }

  private async call<T>(
    key: string,
    fingerprint: string,
    fn: Body<T>,
    ctx: CallContext,
  ): Promise<T> {
    let claim: ClaimResult;
    try {
      claim = await this.store.claim(key, fingerprint, this.leaseMs, this.ttlMs);
    } catch (error) {
      throw this.unavailable('claim', key, error);
    }
    switch (claim.status) {
      case 'completed':
        return this.replay(key, claim.result) as T;
      case 'in-progress':
        if (this.listening) this.emit('in-progress', { key, retryAfterMs: claim.retryAfterMs });
        throw new IdempotencyInProgressError(undefined, { retryAfterMs: claim.retryAfterMs });
      case 'mismatch':
        if (this.listening) this.emit('key-reused', { key });
        throw new IdempotencyKeyReusedError();
    }
    const { token } = claim;
    if (this.listening) this.emit('claimed', { key, token, takeover: claim.takeover });
    if (ctx.aborted) {
      await this.release(key, token, 'aborted');
      throw ctx.scope?.reason;
    }
    const scope = ctx.childScope();
    const lease = this.leases.start(key, token, scope);
    let value: T;
    try {
      value = await fn(ctx.withScope(scope), token);
    } catch (error) {
      this.leases.stop(lease);
      scope.dispose();
      return this.failed(key, token, error);
    }
    this.leases.stop(lease);
    scope.dispose();
    return this.succeeded(key, token, value);
  }

  private replay(key: string, stored: string): unknown {
    const outcome = decodeOutcome(this.serializer, stored);
    if (this.listening) this.emit('replayed', { key, outcome: outcome.ok ? 'value' : 'error' });
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  private async succeeded<T>(key: string, token: number, value: T): Promise<T> {
    let stored: string;
    try {
      stored = encodeValue(this.serializer, value);
    } catch (error) {
      await this.release(key, token, 'unserializable');
      throw new TypeError(
        `idempotency: the result of fn for key ${JSON.stringify(key)} cannot be stored (${describe(error)}); fn ran, and the key was released, so a repeat runs fn again`,
        { cause: error },
      );
    }
    let done: boolean;
    try {
      done = await this.store.complete(key, token, stored, this.ttlMs);
    } catch (error) {
      throw this.unavailable('complete', key, error);
    }
    if (!done) throw this.stale(key, token, undefined);
    if (this.listening) this.emit('completed', { key, token, outcome: 'value' });
    // The first caller gets what every repeat gets: the stored copy, not fn's own object.
    return this.serializer.deserialize(stored.slice(1)) as T;
  }

  private async failed(key: string, token: number, error: unknown): Promise<never> {
    let final: boolean;
    try {
      final = this.storeError?.(error) === true;
    } catch (hookError) {
      await this.release(key, token, 'error');
      throw hookError;
    }
    if (!final) {
      await this.release(key, token, 'error');
      throw error;
    }
    let done: boolean;
    try {
      done = await this.store.complete(key, token, encodeError(error), this.ttlMs);
    } catch (storeError) {
      // Not recorded (a store-error event says so); the caller still learns how fn failed.
      this.unavailable('complete', key, storeError);
      throw error;
    }
    if (!done) throw this.stale(key, token, error);
    if (this.listening) this.emit('completed', { key, token, outcome: 'error' });
    throw error;
  }

  private async release(key: string, token: number, reason: string): Promise<void> {
    let released: boolean;
    try {
      released = await this.store.release(key, token);
    } catch (error) {
      this.unavailable('release', key, error); // the lease runs out by itself
      return;
    }
    if (!this.listening) return;
    if (released) this.emit('released', { key, token, reason });
    else this.emit('stale', { key, token, operation: 'release' });
  }

  private stale(key: string, token: number, cause: unknown): IdempotencyLeaseLostError {
    if (this.listening) this.emit('stale', { key, token, operation: 'complete' });
    return new IdempotencyLeaseLostError(
      undefined,
      cause === undefined ? { token } : { token, cause },
    );
  }

  /** Reports a failed store operation; any failure becomes a StoreUnavailableError. */
  private unavailable(operation: string, key: string, error: unknown): unknown {
    if (this.listening) this.emit('store-error', { key, operation, error });
    return isResilienceError(error, 'STORE_UNAVAILABLE')
      ? error
      : new StoreUnavailableError(
          `idempotency: the store failed to ${operation} key ${JSON.stringify(key)}: ${describe(error)}`,
          { cause: error },
        );
  }
}

/**
 * Runs a call at most once per idempotency key, across processes when the store is shared:
 * `run(key, fingerprint, fn)`, or `execute(fn, { key })` in a pipeline.
 */
export function idempotency(options?: IdempotencyOptions): IdempotencyPolicy {
  return new Idempotency(options);
}
