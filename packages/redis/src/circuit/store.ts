import type {
  CircuitListener,
  CircuitRecord,
  CircuitStatusListener,
  CircuitStore,
} from '@bulwark/circuit-breaker';
import { type Clock, StoreUnavailableError } from '@bulwark/core';
import type { Cluster, Redis } from 'ioredis';
import { circuitChannel, circuitKey } from './keys.js';
import { type RedisCircuitStoreOptions, resolveRedisCircuitStore } from './options.js';
import { fromRelative, toRelative } from './record.js';
import { type CircuitScript, READ_SCRIPT, WRITE_SCRIPT } from './scripts.js';
import { CircuitSubscription } from './subscription.js';

export type { RedisCircuitStoreOptions } from './options.js';

export interface RedisCircuitStore extends CircuitStore {
  read(name: string): Promise<CircuitRecord | undefined>;
  write(
    name: string,
    expectedVersion: number,
    next: CircuitRecord,
    writer?: string,
  ): Promise<boolean>;
  watch(name: string, listener: CircuitListener, onStatus?: CircuitStatusListener): () => void;
  /** False while Redis is considered down: every breaker of this store goes on alone. */
  readonly available: boolean;
  /** Resolves once every circuit watched so far is subscribed, and its stored record read after. */
  ready(): Promise<void>;
  /** The Redis key of circuit `name` (its channel is this key + `:changes`). */
  redisKey(name: string): string;
  /** Stops listening: quits the store's own connection. The client you gave stays yours. */
  close(): Promise<void>;
}

// Statuses of a client that has not connected yet: a call may wait (timeoutMs) for the first
// connection, as at start-up. After that, a client that is not ready has lost its connection.
const STARTING = new Set(['wait', 'connecting', 'connect']);
// While Redis is down, how often the store asks whether it is back (on top of reconnect events).
const RECHECK_MS = 500;
// Redis answered, but cannot serve: as good as down.
const NOT_SERVING = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)\b/;

/** Redis answered with an error: it is up, the command was wrong (a key of another type...). */
function isAnswer(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError' && !NOT_SERVING.test(error.message);
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

class RedisCircuits implements RedisCircuitStore {
  private readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  /** Each half-open write leases the probes for this long; the breaker renews it meanwhile. */
  readonly probeLeaseMs: number;
  private readonly clock: Clock;
  private readonly subscription: CircuitSubscription;
  /** Redis failed and has not answered a check since. */
  private down = false;
  /** Redis answered once: from then on, a client that is not ready has lost its connection. */
  private answered = false;
  private checking = false;
  private lastError: unknown;
  private cancelRecheck: (() => void) | undefined;
  private closed = false;

  constructor(options: RedisCircuitStoreOptions) {
    const o = resolveRedisCircuitStore(options);
    this.client = o.client;
    this.prefix = o.prefix;
    this.timeoutMs = o.timeoutMs;
    this.probeLeaseMs = o.probeLeaseMs;
    this.clock = o.clock;
    this.subscription = new CircuitSubscription(o.client, {
      lost: (error) => this.lose(error),
      resubscribed: () => this.check(),
      read: (name) => this.read(name),
      now: () => this.clock.now(),
    });
  }

  get available(): boolean {
    return !this.down;
  }

  redisKey(name: string): string {
    return circuitKey(this.prefix, name);
  }

  read(name: string): Promise<CircuitRecord | undefined> {
    const key = this.redisKey(name);
    return this.call(READ_SCRIPT, key, []).then((reply) => {
      if (reply === null) return undefined;
      const record = Array.isArray(reply) ? fromRelative(reply, this.clock.now()) : undefined;
      if (record === undefined) {
        throw new StoreUnavailableError(`redisCircuitStore: ${key} does not hold a circuit record`);
      }
      return record;
    });
  }

  write(name: string, expectedVersion: number, next: CircuitRecord, writer = ''): Promise<boolean> {
    const relative = toRelative(next, this.clock.now(), this.probeLeaseMs);
    const message = JSON.stringify([writer, ...relative]);
    return this.call(WRITE_SCRIPT, this.redisKey(name), [
      expectedVersion,
      ...relative,
      message,
    ]).then((reply) => reply === 1);
  }

  watch(name: string, listener: CircuitListener, onStatus?: CircuitStatusListener): () => void {
    if (this.closed) return () => {};
    return this.subscription.add(name, circuitChannel(this.redisKey(name)), listener, onStatus);
  }

  ready(): Promise<void> {
    return this.subscription.whenReady();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelRecheck?.();
    this.cancelRecheck = undefined;
    await this.subscription.close();
  }

  /** A script call, or an immediate StoreUnavailableError when Redis is known to be away. */
  private call(script: CircuitScript, key: string, args: Array<string | number>): Promise<unknown> {
    const { status } = this.client;
    // Never queue behind a reconnect: ioredis would hold the command and replay it, late.
    if (this.down || (status !== 'ready' && (this.answered || !STARTING.has(status)))) {
      if (this.down) this.check();
      else this.lose(new StoreUnavailableError(`redisCircuitStore: Redis connection is ${status}`));
      return Promise.reject(this.unavailable());
    }
    return this.bounded(() => this.evaluate(script, key, args)).then(
      (reply) => {
        this.answered = true;
        return reply;
      },
      (error: unknown) => {
        if (isAnswer(error)) {
          this.answered = true;
          throw error;
        }
        this.lose(error);
        throw this.unavailable();
      },
    );
  }

  /** EVALSHA, then EVAL after NOSCRIPT (a restarted Redis, a new Cluster node). */
  private evaluate(script: CircuitScript, key: string, args: Array<string | number>) {
    const { client } = this;
    return client
      .evalsha(script.sha, 1, key, ...args)
      .catch((error: unknown) =>
        isNoScript(error) ? client.eval(script.source, 1, key, ...args) : Promise.reject(error),
      );
  }

  /** `send()`, or a StoreUnavailableError once timeoutMs has passed. */
  private bounded<T>(send: () => Promise<T>): Promise<T> {
    const { timeoutMs } = this;
    return new Promise<T>((resolve, reject) => {
      const cancel = this.clock.setTimer(
        () =>
          reject(
            new StoreUnavailableError(
              `redisCircuitStore: Redis did not answer within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
        'call',
      );
      send().then(
        (value) => {
          cancel();
          resolve(value);
        },
        (error: unknown) => {
          cancel();
          reject(error);
        },
      );
    });
  }

  private unavailable(): StoreUnavailableError {
    return new StoreUnavailableError(
      'redisCircuitStore: Redis is unavailable; breakers go on alone',
      {
        cause: this.lastError,
      },
    );
  }

  private lose(error: unknown): void {
    this.lastError = error;
    if (this.down || this.closed) return;
    this.down = true;
    this.subscription.notify({ available: false, error });
    this.recheckLater();
  }

  private recheckLater(): void {
    if (this.cancelRecheck !== undefined || this.closed) return;
    this.cancelRecheck = this.clock.setTimer(
      () => {
        this.cancelRecheck = undefined;
        this.check();
        if (this.down) this.recheckLater();
      },
      RECHECK_MS,
      'background',
    );
  }

  /** While down: is Redis back, and every circuit subscribed again? Then breakers read again. */
  private check(): void {
    if (!this.down || this.checking || this.closed) return;
    if (this.client.status !== 'ready' || !this.subscription.ready) return;
    this.checking = true;
    this.bounded(() => this.client.ping()).then(
      () => {
        this.checking = false;
        this.recover();
      },
      (error: unknown) => {
        this.checking = false;
        this.lastError = error;
      },
    );
  }

  private recover(): void {
    if (!this.down || this.closed) return;
    this.down = false;
    this.answered = true;
    this.lastError = undefined;
    this.cancelRecheck?.();
    this.cancelRecheck = undefined;
    this.subscription.notify({ available: true });
  }
}

/**
 * A `CircuitStore` in Redis (standalone or Cluster) for `circuitBreaker({ store, name })`: one
 * circuit for a fleet. Each breaker still counts its own calls (a passing call never reaches
 * Redis); a transition is one compare-and-set script that also PUBLISHes it, so every breaker
 * of that name follows within milliseconds. Times travel as offsets on Redis' clock. When Redis
 * does not answer within `timeoutMs`, the breakers go on alone, and rejoin when it is back.
 */
export function redisCircuitStore(options: RedisCircuitStoreOptions): RedisCircuitStore {
  return new RedisCircuits(options);
}
