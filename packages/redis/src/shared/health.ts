import {
  type Clock,
  describeError,
  notifyAll,
  StoreTimeout,
  StoreUnavailableError,
} from '@bulwark/core';
import type { RedisClient } from './client.js';
import { UnexpectedReplyError } from './script.js';

/** Redis stopped answering: the store now does what its `onStoreError` says. Once per outage. */
export interface RedisStoreErrorEvent {
  readonly type: 'store-error';
  /** `redisRateLimitStore`, `redisCircuitStore`, `redisIdempotencyStore`, `redisCacheStore`... */
  readonly store: string;
  /** What the store was doing: `take`, `write`, `claim`, `get`, `connect`... */
  readonly operation: string;
  readonly error: unknown;
  /** What the store does meanwhile: `local`, `allow`, `deny`, `refuse`, `miss`. */
  readonly onStoreError: string;
  /** The key of the operation that found the outage, where it had one. */
  readonly key?: string;
}

/** Redis answered again after an outage of `downMs`. */
export interface RedisStoreRecoveredEvent {
  readonly type: 'store-recovered';
  readonly store: string;
  readonly downMs: number;
}

export type RedisStoreEvent = RedisStoreErrorEvent | RedisStoreRecoveredEvent;
export type RedisStoreListener = (event: RedisStoreEvent) => void;

/** A gate's verdict on sending a command now. */
export const SEND = 0;
export const WAIT_FOR_CONNECTION = 1;
export const UNAVAILABLE = 2;
export type Gate = typeof SEND | typeof WAIT_FOR_CONNECTION | typeof UNAVAILABLE;

// Statuses of a client that has not connected yet: a command may wait for its first connection.
const STARTING: ReadonlySet<string> = new Set(['wait', 'connecting', 'connect']);
// While Redis is away, how often one probe asks whether it is back (also on every reconnect).
const PROBE_EVERY_MS = 250;
// Redis answered, but cannot serve: as good as away.
const NOT_SERVING = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY|NOREPLICAS)\b/;

/**
 * True when Redis itself answered with an error (a key of another type, a script error): Redis
 * is up, the command was wrong, and the caller should see the error as it is.
 */
export function isRedisAnswer(error: unknown): boolean {
  if (error instanceof UnexpectedReplyError) return true;
  return error instanceof Error && error.name === 'ReplyError' && !NOT_SERVING.test(error.message);
}

// One 'ready' listener per client for all its stores: ten stores on a client must not trip
// Node's MaxListenersExceededWarning.
const healthOf = new WeakMap<RedisClient, Set<RedisHealth>>();

function watchReady(client: RedisClient, health: RedisHealth): void {
  let set = healthOf.get(client);
  if (set === undefined) {
    const stores = new Set<RedisHealth>();
    set = stores;
    healthOf.set(client, stores);
    client.on('ready', () => {
      for (const store of stores) store.connected();
    });
  }
  set.add(health);
}

export interface RedisHealthOptions {
  /** The store's name, for messages and events. */
  store: string;
  timeoutMs: number;
  clock: Clock;
  /** What the store does while Redis is away: reported in `store-error`. */
  onStoreError: string;
}

/**
 * One store's view of its Redis connection, the same for every store: nothing is sent while
 * ioredis is reconnecting or would hold the command in its offline queue (to replay it late);
 * every command is bounded by `timeoutMs` on the store's clock, one timer for all; once a
 * command fails, the store is down and fails fast until one probe (a PING, one at a time, on
 * every reconnect and every 250 ms) finds Redis again.
 */
export class RedisHealth {
  readonly timeout: StoreTimeout;
  readonly store: string;
  private readonly onStoreError: string;
  private listeners: RedisStoreListener[] = [];
  private down = false;
  private downSince = 0;
  private lastError: unknown;
  /** The client was ready once: from then on, a client that is not ready lost its connection. */
  private connectedOnce = false;
  private probing = false;
  private cancelProbe: (() => void) | undefined;
  private connecting: Promise<void> | undefined;
  private markConnected: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly client: RedisClient,
    options: RedisHealthOptions,
  ) {
    this.store = options.store;
    this.onStoreError = options.onStoreError;
    this.timeout = new StoreTimeout(options.clock, options.timeoutMs);
    if (client.status === 'ready') this.connectedOnce = true;
    watchReady(client, this);
  }

  /** @internal The client (re)connected. */
  connected(): void {
    this.connectedOnce = true;
    this.markConnected?.();
    this.markConnected = undefined;
    this.connecting = undefined;
    if (this.down) this.probe();
  }

  get available(): boolean {
    return !this.down;
  }

  get timeoutMs(): number {
    return this.timeout.timeoutMs;
  }

  /**
   * Whether a command may be sent now (SEND), after the client's first connection
   * (WAIT_FOR_CONNECTION), or not at all (UNAVAILABLE: fail fast, the store is down).
   */
  gate(operation: string, key?: string): Gate {
    if (this.down) {
      this.probe();
      return UNAVAILABLE;
    }
    const { status } = this.client;
    if (status === 'ready') return SEND;
    if (!this.connectedOnce && STARTING.has(status)) return WAIT_FOR_CONNECTION;
    this.failed(
      new StoreUnavailableError(`${this.store}: the Redis connection is ${status}`),
      operation,
      key,
    );
    return UNAVAILABLE;
  }

  /** Redis answered a command. */
  answered(): void {
    this.connectedOnce = true;
  }

  /** A command failed; unless Redis itself answered with an error, Redis is away. */
  failed(error: unknown, operation: string, key?: string): void {
    if (isRedisAnswer(error)) return;
    this.lastError = error;
    if (this.down || this.closed) return;
    this.down = true;
    this.downSince = this.timeout.clock.now();
    this.emit({
      type: 'store-error',
      store: this.store,
      operation,
      error,
      onStoreError: this.onStoreError,
      ...(key === undefined ? {} : { key }),
    });
    this.probeLater();
  }

  /** The error a call gets while Redis is away. */
  unavailable(operation: string, cause: unknown = this.lastError): StoreUnavailableError {
    const meanwhile =
      this.onStoreError === 'refuse' ? 'refuses calls' : `falls back to '${this.onStoreError}'`;
    const why = cause === undefined ? '' : ` (last error: ${describeError(cause)})`;
    return new StoreUnavailableError(
      `${this.store}: Redis is unavailable (${operation}); the store ${meanwhile} until it answers again${why}`,
      { cause },
    );
  }

  /**
   * Sends `command()` if the connection can take it, bounded by `timeoutMs`. Rejects with
   * `StoreUnavailableError` when Redis is away or slow, and with Redis' own error when Redis
   * answered with one. `onLate` gets a reply that came after the deadline.
   */
  send<T>(
    operation: string,
    command: () => Promise<T>,
    onLate?: (value: T) => void,
    key?: string,
  ): Promise<T> {
    switch (this.gate(operation, key)) {
      case SEND:
        return this.watch(operation, command(), onLate, key);
      case WAIT_FOR_CONNECTION:
        return this.afterConnect(operation, key).then(() =>
          this.watch(operation, command(), onLate, key),
        );
      default:
        return Promise.reject(this.unavailable(operation));
    }
  }

  /** Waits (within `timeoutMs`) for the client's first connection; never queues a command. */
  afterConnect(operation: string, key?: string): Promise<void> {
    if (this.connecting === undefined) {
      this.connecting = new Promise<void>((resolve) => (this.markConnected = resolve));
      // A lazyConnect client connects on its first command: we send none until it is ready.
      if (this.client.status === 'wait') this.client.connect().catch(() => {});
    }
    return this.timeout.bound(this.connecting, `${this.store}: connect`).catch((error: unknown) => {
      this.failed(error, operation, key);
      throw this.unavailable(operation, error);
    });
  }

  on(listener: RedisStoreListener): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`${this.store}.on: listener must be a function, got ${typeof listener}`);
    }
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Stops probing and listening to the client; the client stays the caller's. */
  close(): void {
    this.closed = true;
    this.cancelProbe?.();
    this.cancelProbe = undefined;
    healthOf.get(this.client)?.delete(this);
  }

  private watch<T>(
    operation: string,
    sent: Promise<T>,
    onLate: ((value: T) => void) | undefined,
    key: string | undefined,
  ): Promise<T> {
    return this.timeout.bound(sent, `${this.store}: ${operation}`, onLate).then(
      (value) => {
        this.connectedOnce = true;
        return value;
      },
      (error: unknown) => {
        if (isRedisAnswer(error)) throw error;
        this.failed(error, operation, key);
        throw this.unavailable(operation, error);
      },
    );
  }

  /** One PING at a time while down: the first that answers ends the outage. */
  private probe(): void {
    if (this.probing || this.closed || !this.down || this.client.status !== 'ready') return;
    this.probing = true;
    this.timeout.bound(this.client.ping(), `${this.store}: ping`).then(
      () => {
        this.probing = false;
        this.recover();
      },
      (error: unknown) => {
        this.probing = false;
        this.lastError = error;
      },
    );
  }

  private probeLater(): void {
    if (this.cancelProbe !== undefined || this.closed) return;
    this.cancelProbe = this.timeout.clock.setTimer(
      () => {
        this.cancelProbe = undefined;
        if (!this.down) return;
        this.probe();
        this.probeLater();
      },
      PROBE_EVERY_MS,
      'background',
    );
  }

  private recover(): void {
    if (!this.down || this.closed) return;
    this.down = false;
    this.connectedOnce = true;
    this.lastError = undefined;
    this.cancelProbe?.();
    this.cancelProbe = undefined;
    this.emit({
      type: 'store-recovered',
      store: this.store,
      downMs: Math.max(0, this.timeout.clock.now() - this.downSince),
    });
  }

  private emit(event: RedisStoreEvent): void {
    notifyAll(this.listeners, event);
  }
}
