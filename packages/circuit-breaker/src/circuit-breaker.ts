import {
  BrokenCircuitError,
  type CallContext,
  type Clock,
  type InnerTask,
  isPromiseLike,
  type Policy,
  PolicyBase,
  RUN,
  reportLater,
} from '@bulwark/core';
import type { Breaker } from './breaker.js';
import { Circuit } from './circuit.js';
import { type CircuitBreakerOptions, type ResolvedOptions, resolveOptions } from './options.js';
import {
  type CircuitRecord,
  type CircuitState,
  claimProbe,
  closed,
  isolated,
  opened,
  probeDropped,
  probeLeaseRenewed,
  probeSucceeded,
  released,
} from './record.js';
import { memoryCircuitStore } from './store.js';

export interface CircuitStats {
  state: CircuitState;
  /** Calls in the breaker's window (for `consecutiveBreaker`: since the circuit last closed). */
  calls: number;
  failures: number;
  slowCalls: number;
  /** failures / calls, 0 when there were no calls. */
  failureRate: number;
  /** slowCalls / calls, 0 when there were no calls. */
  slowCallRate: number;
  /** Clock time of the last state change. */
  since: number;
  /** Opens in a row since the circuit last closed. */
  consecutiveOpens: number;
}

export interface CircuitBreaker extends Policy {
  readonly name: string;
  /** An open circuit turns half-open when the first call after its wait arrives. */
  readonly state: CircuitState;
  /** Holds the circuit open until every returned release function has been called. */
  isolate(): () => void;
  /** Back to closed, counts cleared; also ends every isolation. */
  reset(): void;
  stats(): CircuitStats;
}

const SUCCESS = 0;
const FAILURE = 1;
/** A call the caller aborted: neither a success nor a failure. */
const IGNORED = 2;
type Outcome = typeof SUCCESS | typeof FAILURE | typeof IGNORED;

/** One stretch of the closed state; calls started in an earlier one no longer count. */
interface ClosedPeriod {
  readonly entered: number;
  // Shared by every call of the stretch that needs nothing of its own: no closure per call.
  readonly onValue: () => void;
  readonly onError: (error: unknown) => void;
}

// Two circuits counting into one strategy would each open on the other's failures.
const owned = new WeakSet<Breaker>();

class CircuitBreakerPolicy extends PolicyBase implements CircuitBreaker {
  private readonly breaker: Breaker;
  private readonly clock: Clock;
  private readonly waitMs: (consecutiveOpens: number, previousMs: number) => number;
  private readonly halfOpenMaxCalls: number;
  private readonly isFailure: ((error: unknown) => boolean) | undefined;
  /** The strategy wants the time each call ends. */
  private readonly readsClock: boolean;
  /** ...and when it starts: it tracks slow calls. */
  private readonly timesCalls: boolean;
  /** Undefined unless the circuit is closed: the one check a passing call makes. */
  private period: ClosedPeriod | undefined;
  private readonly circuit: Circuit;

  constructor(o: ResolvedOptions) {
    super(o.name);
    if (owned.has(o.breaker)) {
      throw new TypeError(
        `circuitBreaker: breaker is already used by another circuit breaker; create one for each`,
      );
    }
    owned.add(o.breaker);
    this.breaker = o.breaker;
    this.clock = o.clock;
    this.waitMs = o.waitMs;
    this.halfOpenMaxCalls = o.halfOpenMaxCalls;
    this.isFailure = o.isFailure;
    this.readsClock = o.breaker.timing !== 'none';
    this.timesCalls = o.breaker.timing === 'duration';
    this.period = this.newPeriod(0);
    const clock = o.clock;
    this.circuit = new Circuit(o.store ?? memoryCircuitStore(), o.name, () => clock.now(), {
      changed: (previous, next, remote) => this.changed(previous, next, remote),
      storeFailed: (error) => {
        if (this.listening) this.emit('store-error', { error });
      },
      storeRecovered: (downMs) => {
        if (this.listening) this.emit('store-recovered', { downMs });
      },
    });
  }

  get state(): CircuitState {
    return this.circuit.record.state;
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    const period = this.period;
    if (period === undefined) return this.runNotClosed(fn, ctx);
    const start = this.timesCalls ? this.clock.now() : 0;
    let result: T | PromiseLike<T>;
    try {
      result = fn(ctx);
    } catch (error) {
      this.settleClosed(period, this.outcomeOf(error, ctx), start);
      throw error;
    }
    if (!isPromiseLike(result)) {
      this.settleClosed(period, SUCCESS, start);
      return result;
    }
    const promise = result instanceof Promise ? result : Promise.resolve(result);
    // The call's own promise goes back untouched; this reaction, registered first, runs before
    // the caller's. Rethrowing from a chained handler would add a throw to every failing call.
    // Without a caller's signal nothing can make this call's outcome count for nothing, so the
    // period's handlers serve (an outer timeout's abort is a failure like any other).
    if (!this.timesCalls && ctx.scope?.caller === undefined) {
      promise.then(period.onValue, period.onError);
    } else {
      promise.then(
        () => this.settleClosed(period, SUCCESS, start),
        (error: unknown) => this.settleClosed(period, this.outcomeOf(error, ctx), start),
      );
    }
    return promise;
  }

  isolate(): () => void {
    const now = this.clock.now();
    let stretch = -1;
    this.circuit.decide((r) => {
      const next = isolated(r, now);
      stretch = next.entered;
      return next;
    });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const at = this.clock.now();
      this.circuit.decide((r) =>
        r.state === 'isolated' && r.entered === stretch ? released(r, at) : undefined,
      );
    };
  }

  reset(): void {
    const from = this.circuit.record.state;
    const now = this.clock.now();
    this.circuit.decide((r) => closed(r, now));
    if (this.listening) this.emit('reset', { from });
  }

  stats(): CircuitStats {
    const record = this.circuit.record;
    const { calls, failures, slowCalls } = this.breaker.counts(this.clock.now());
    return {
      state: record.state,
      calls,
      failures,
      slowCalls,
      failureRate: calls === 0 ? 0 : failures / calls,
      slowCallRate: calls === 0 ? 0 : slowCalls / calls,
      since: record.since,
      consecutiveOpens: record.consecutiveOpens,
    };
  }

  private newPeriod(entered: number): ClosedPeriod {
    const period: ClosedPeriod = {
      entered,
      onValue: () => this.settleClosed(period, SUCCESS, 0),
      onError: (error) => this.settleClosed(period, this.failureOf(error), 0),
    };
    return period;
  }

  private settleClosed(period: ClosedPeriod, outcome: Outcome, start: number): void {
    if (outcome === IGNORED || this.period !== period) return;
    let now = 0;
    let durationMs = 0;
    if (this.readsClock) {
      now = this.clock.now();
      if (this.timesCalls) durationMs = now - start;
    }
    const breaker = this.breaker;
    const trips =
      outcome === SUCCESS ? breaker.success(now, durationMs) : breaker.failure(now, durationMs);
    // A consecutive breaker reads no clock per call; opening needs the time.
    if (trips) this.trip(period, this.readsClock ? now : this.clock.now());
  }

  /**
   * Opens here at once (the next call is rejected, whatever the store's latency), then
   * publishes. A trip a synchronous store kept refusing leaves the circuit closed: the next
   * failure tries again.
   */
  private trip(period: ClosedPeriod, now: number): void {
    this.circuit.decide((r) =>
      r.state === 'closed' && r.entered === period.entered
        ? opened(r, now, this.waitMs(r.consecutiveOpens + 1, r.lastWaitMs))
        : undefined,
    );
  }

  private runNotClosed<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    const now = this.clock.now();
    const max = this.halfOpenMaxCalls;
    if (claimProbe(this.circuit.record, now, max) === undefined) {
      return this.reject(this.circuit.record, now);
    }
    let probe: CircuitRecord | undefined;
    // The one decision that waits for the store: the fleet must send one probe, not one each.
    const admitted = this.circuit.claim((r) => (probe = claimProbe(r, now, max)));
    if (admitted === true) return this.runProbe(fn, ctx, probe!.entered);
    if (admitted === false) return this.reject(this.circuit.record, now);
    return admitted.then((ok) => {
      if (!ok) return this.reject(this.circuit.record, now);
      const entered = probe!.entered;
      if (ctx.aborted) {
        this.settleProbe(entered, IGNORED, now);
        throw ctx.scope?.reason;
      }
      return this.runProbe(fn, ctx, entered);
    });
  }

  private runProbe<T>(fn: InnerTask<T>, ctx: CallContext, entered: number): T | PromiseLike<T> {
    const start = this.clock.now();
    let result: T | PromiseLike<T>;
    try {
      result = fn(ctx);
    } catch (error) {
      this.settleProbe(entered, this.outcomeOf(error, ctx), start);
      throw error;
    }
    if (!isPromiseLike(result)) {
      this.settleProbe(entered, SUCCESS, start);
      return result;
    }
    const promise = result instanceof Promise ? result : Promise.resolve(result);
    const stopRenewing = this.renewLeaseWhileRunning(entered);
    promise.then(
      () => {
        stopRenewing?.();
        this.settleProbe(entered, SUCCESS, start);
      },
      (error: unknown) => {
        stopRenewing?.();
        this.settleProbe(entered, this.outcomeOf(error, ctx), start);
      },
    );
    return promise;
  }

  /** Keeps a leasing store's probe lease alive while a slow probe runs; undefined if none. */
  private renewLeaseWhileRunning(entered: number): (() => void) | undefined {
    const leaseMs = this.circuit.probeLeaseMs;
    if (leaseMs === undefined) return undefined;
    const everyMs = leaseMs / 3;
    const renew = () => {
      this.circuit.decide((r) =>
        r.state === 'half-open' && r.entered === entered ? probeLeaseRenewed(r) : undefined,
      );
      cancel = this.clock.setTimer(renew, everyMs, 'call');
    };
    let cancel = this.clock.setTimer(renew, everyMs, 'call');
    return () => cancel();
  }

  /** Every probe must succeed, and in time when slow calls are tracked, for the circuit to close. */
  private settleProbe(entered: number, outcome: Outcome, start: number): void {
    const now = this.clock.now();
    if (outcome === SUCCESS && now - start > this.breaker.slowCallMs) outcome = FAILURE;
    this.circuit.decide((r) => {
      if (r.state !== 'half-open' || r.entered !== entered) return undefined;
      if (outcome === IGNORED) return probeDropped(r);
      if (outcome === FAILURE)
        return opened(r, now, this.waitMs(r.consecutiveOpens + 1, r.lastWaitMs));
      return probeSucceeded(r, now, this.halfOpenMaxCalls);
    });
  }

  private reject(record: CircuitRecord, now: number): never {
    const { state } = record;
    const retryAfterMs = state === 'open' ? Math.max(0, record.halfOpenAt - now) : undefined;
    if (this.listening) this.emit('rejected', { state, retryAfterMs });
    throw new BrokenCircuitError(
      state === 'isolated'
        ? `${this.name}: the circuit is isolated`
        : state === 'open'
          ? `${this.name}: the circuit is open; calls fail fast until it lets a probe through`
          : `${this.name}: the circuit is half-open and its probes are still running`,
      { retryAfterMs },
    );
  }

  private outcomeOf(error: unknown, ctx: CallContext): Outcome {
    return ctx.callerAborted ? IGNORED : this.failureOf(error);
  }

  private failureOf(error: unknown): Outcome {
    const isFailure = this.isFailure;
    if (isFailure === undefined) return FAILURE;
    try {
      return isFailure(error) ? FAILURE : SUCCESS;
    } catch (thrown) {
      // As a throwing event listener is: reported, without changing the call's outcome.
      reportLater(thrown);
      return FAILURE;
    }
  }

  private changed(previous: CircuitRecord, next: CircuitRecord, remote: boolean): void {
    if (next.state === 'closed') {
      this.breaker.reset();
      this.period = this.newPeriod(next.entered);
    } else {
      this.period = undefined;
    }
    if (!this.listening || next.state === previous.state) return;
    const from = previous.state;
    switch (next.state) {
      case 'open':
        this.emit('open', {
          from,
          ...(from === 'closed' ? this.countsDetail() : {}),
          retryAfterMs: next.halfOpenAt - next.since,
          consecutiveOpens: next.consecutiveOpens,
          remote,
        });
        break;
      case 'half-open':
        this.emit('half-open', { from, remote });
        break;
      case 'closed':
        this.emit('close', { from, remote });
        break;
      case 'isolated':
        this.emit('isolate', { from, remote });
        break;
    }
  }

  private countsDetail(): Record<string, number> {
    const { calls, failures, slowCalls, failureRate, slowCallRate } = this.stats();
    return { calls, failures, slowCalls, failureRate, slowCallRate };
  }
}

/**
 * Fails calls fast while a dependency is down. The `breaker` strategy counts outcomes while the
 * circuit is closed and says when to open; after `halfOpenAfterMs` the next call probes, and the
 * circuit closes when `halfOpenMaxCalls` probes have all succeeded. Rejected calls get
 * `BrokenCircuitError` (code `CIRCUIT_OPEN`) and never reach `fn`.
 */
export function circuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  return new CircuitBreakerPolicy(resolveOptions(options));
}
