import {
  type CallContext,
  type Clock,
  type Context,
  type InnerTask,
  type Policy,
  PolicyBase,
  RateLimitedError,
  RUN,
  sleep,
} from '@bulwark/core';
import { describe } from './bucket-limiter.js';
import type { Decision, RateLimiter } from './decision.js';
import { type RateLimitOptions, validateRateLimit } from './options.js';

class RateLimitPolicy extends PolicyBase {
  private readonly limiter: RateLimiter;
  private readonly keyOf: ((ctx: Context) => string) | undefined;
  private readonly cost: number | ((ctx: Context) => number);
  private readonly maxWaitMs: number;
  private readonly clock: Clock;

  constructor(options: RateLimitOptions) {
    super('rate-limit');
    const { limiter, key, cost, maxWaitMs, clock } = validateRateLimit(options);
    this.limiter = limiter;
    this.keyOf = key;
    this.cost = cost;
    this.maxWaitMs = maxWaitMs;
    this.clock = clock;
  }

  private unsubscribe: (() => void) | undefined;

  // The store's events are relayed only while someone listens, so a policy built per request
  // over a shared store leaves no subscription behind.
  protected override listeningChanged(listening: boolean): void {
    this.unsubscribe?.();
    this.unsubscribe = listening
      ? this.limiter.on?.((event) => this.emit(event.type, event))
      : undefined;
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): Promise<T> {
    const key = this.keyOf === undefined ? ctx.key : this.keyOf(ctx);
    if (typeof key !== 'string') {
      throw new TypeError(
        this.keyOf === undefined
          ? 'rateLimit: the call has no key: pass execute(fn, { key }), wrap(..., { key }) or the key option'
          : `rateLimit: the key option must return a string, got ${describe(key)}`,
      );
    }
    const cost = typeof this.cost === 'number' ? this.cost : this.cost(ctx);
    const started = this.maxWaitMs > 0 ? this.clock.now() : 0;
    return this.limiter
      .take(key, cost)
      .then((decision) =>
        decision.allowed && !(decision.waitMs > 0) && !ctx.aborted
          ? fn(ctx)
          : this.admitLater(fn, ctx, key, cost, started, decision),
      );
  }

  /** A call that must wait for its slot, for tokens, or be rejected. */
  private async admitLater<T>(
    fn: InnerTask<T>,
    ctx: CallContext,
    key: string,
    cost: number,
    started: number,
    first: Decision,
  ): Promise<T> {
    // Aborted while the store decided: the caller is gone, so the call does not run.
    if (ctx.aborted) throw ctx.scope!.reason;
    let decision = first;
    while (!decision.allowed) {
      const { retryAfterMs } = decision;
      const budget = this.maxWaitMs > 0 ? started + this.maxWaitMs - this.clock.now() : 0;
      if (!(retryAfterMs <= budget)) {
        if (this.listening) this.emit('rejected', { key, cost, retryAfterMs });
        throw new RateLimitedError(`Rate limit exceeded: retry in ${retryAfterMs} ms`, {
          retryAfterMs,
        });
      }
      if (this.listening)
        this.emit('delayed', { key, cost, waitMs: retryAfterMs, waitingFor: 'tokens' });
      await sleep(this.clock, retryAfterMs, ctx.scope);
      decision = await this.limiter.take(key, cost);
    }
    if (decision.waitMs > 0) {
      if (this.listening)
        this.emit('delayed', { key, cost, waitMs: decision.waitMs, waitingFor: 'slot' });
      await sleep(this.clock, decision.waitMs, ctx.scope);
    }
    return fn(ctx);
  }
}

/**
 * A policy that admits a call when its limiter does. A leaky bucket's allowed call waits for
 * its slot; a refused call waits for room up to `maxWaitMs`, then takes again; otherwise it
 * rejects with `RateLimitedError` (`retryAfterMs`). Events: `rejected`, `delayed`, and the
 * store's own (`store-error`, `store-recovered`).
 */
export function rateLimit(options: RateLimitOptions): Policy {
  return new RateLimitPolicy(options);
}
