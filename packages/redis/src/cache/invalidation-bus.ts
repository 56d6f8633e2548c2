import { randomUUID } from 'node:crypto';
import {
  type Clock,
  describeError,
  notifyAll,
  reportLater,
  StoreUnavailableError,
} from '@bulwark/core';
import type { RedisClient } from '../shared/client.js';
import { RedisHealth, type RedisStoreEvent, type RedisStoreListener } from '../shared/health.js';
import { type RedisStoreOptions, resolveRedisOptions } from '../shared/options.js';

/**
 * What one process tells the others: drop these keys, drop this tag, or (`reset`, only ever
 * local) drop everything, because messages may have been missed while disconnected.
 */
export type InvalidationMessage =
  | { readonly keys: readonly string[] }
  | { readonly tag: string }
  | { readonly reset: true };

/** One subscriber's end of the bus: it publishes to everyone else and hears everyone else. */
export interface InvalidationChannel {
  publish(message: InvalidationMessage): Promise<void>;
  close(): void;
}

export interface InvalidationBus {
  /** `handler` hears the messages of other processes and of other channels of this bus. */
  subscribe(handler: (message: InvalidationMessage) => void): InvalidationChannel;
}

export interface RedisInvalidationBusOptions extends RedisStoreOptions {
  /** Publishes on `client`; subscribes on `client.duplicate()`, never on it. */
  client: RedisClient;
  /** The channel is `${prefix}invalidate`; default prefix 'bulwark:cache:'. */
  prefix?: string;
  /** The channel itself, instead of one derived from `prefix`. */
  channel?: string;
  /** Errors of the subscribing connection (it reconnects and resubscribes on its own). */
  onError?: (error: unknown) => void;
  /** How long `ready` and each publish or subscribe may take; default 1000. */
  timeoutMs?: number;
  clock?: Clock;
}

type Handler = (message: InvalidationMessage) => void;

interface Wire {
  /** The publishing bus: a process ignores its own messages. */
  i: string;
  k?: string[];
  t?: string;
}

const WHERE = 'redisInvalidationBus';
// While it cannot subscribe, how often it tries again (besides on every reconnect).
const RETRY_EVERY_MS = 250;

/**
 * Invalidations over Redis pub/sub. Each bus has an instance id; the messages it receives back
 * from Redis are its own and were already delivered in-process, so they are ignored. It
 * subscribes on every 'ready' of its own connection (whatever the client's offline queue
 * setting), says so when it cannot (`store-error`), and after a reconnect delivers
 * `{ reset: true }`: what was published meanwhile is lost, so memory tiers start over.
 */
export class RedisInvalidationBus implements InvalidationBus {
  readonly id = randomUUID();
  readonly channel: string;
  /**
   * Resolves once the subscription is active (messages published after it are heard); rejects
   * with `StoreUnavailableError` if it is not within `timeoutMs`. The bus keeps trying either way.
   */
  readonly ready: Promise<void>;
  private readonly client: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly health: RedisHealth;
  private readonly handlers = new Set<Handler>();
  private listeners: RedisStoreListener[] = [];
  private subscribedOnce = false;
  private subscribed = false;
  private attempt = 0;
  private downSince: number | undefined;
  private cancelRetry: (() => void) | undefined;
  private cancelReady: (() => void) | undefined;
  private resolveReady!: () => void;
  private closed = false;

  constructor(options: RedisInvalidationBusOptions) {
    const o = resolveRedisOptions(WHERE, options, { prefix: 'bulwark:cache:', timeoutMs: 1000 }, [
      'channel',
      'onError',
    ]);
    const { channel, onError } = options;
    if (channel !== undefined && (typeof channel !== 'string' || channel.length === 0)) {
      throw new TypeError(
        `${WHERE}: channel must be a non-empty string, got ${JSON.stringify(channel)}`,
      );
    }
    if (onError !== undefined && typeof onError !== 'function') {
      throw new TypeError(`${WHERE}: onError must be a function, got ${typeof onError}`);
    }
    this.client = o.client;
    this.clock = o.clock;
    this.timeoutMs = o.timeoutMs;
    this.channel = channel ?? `${o.prefix}invalidate`;
    this.health = new RedisHealth(o.client, {
      store: WHERE,
      timeoutMs: o.timeoutMs,
      clock: o.clock,
      onStoreError: 'reset',
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.cancelReady = this.clock.setTimer(() => {
        this.cancelReady = undefined;
        const error = new StoreUnavailableError(
          `${WHERE}: could not subscribe to ${JSON.stringify(this.channel)} within ${this.timeoutMs} ms; it keeps trying, and memory tiers are reset once it does`,
        );
        this.lost(error);
        reject(error);
      }, this.timeoutMs);
    });
    // Nobody has to await `ready`: its rejection is reported as a store-error, not unhandled.
    this.ready.catch(() => undefined);
    // A connection in subscriber mode can do nothing else: it must not be the caller's.
    this.subscriber = o.client.duplicate() as RedisClient;
    this.subscriber.on('error', (error: unknown) => onError?.(error));
    this.subscriber.on('message', (channelName: string, raw: string) => {
      if (channelName === this.channel) this.receive(raw);
    });
    this.subscriber.on('ready', () => this.trySubscribe());
    this.subscriber.on('close', () => {
      if (this.subscribed) this.lost(new StoreUnavailableError(`${WHERE}: connection closed`));
      this.subscribed = false;
    });
    if (this.subscriber.status === 'ready') this.trySubscribe();
    else if (this.subscriber.status === 'wait') this.subscriber.connect().catch(() => {});
  }

  /** Whether the subscription is active now. */
  get available(): boolean {
    return this.subscribed;
  }

  /** `store-error` when it cannot subscribe or publish, `store-recovered` when it can again. */
  on(listener: RedisStoreListener): () => void {
    const off = this.health.on(listener);
    this.listeners = [...this.listeners, listener];
    return () => {
      off();
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  subscribe(handler: Handler): InvalidationChannel {
    if (typeof handler !== 'function') {
      throw new TypeError(
        `redisInvalidationBus.subscribe: handler must be a function, got ${typeof handler}`,
      );
    }
    this.handlers.add(handler);
    return {
      publish: (message) => this.publish(message, handler),
      close: () => {
        this.handlers.delete(handler);
      },
    };
  }

  /** Unsubscribes and closes the subscribing connection (the given client stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    this.cancelRetry?.();
    this.cancelReady?.();
    this.health.close();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  /** Subscribes (again): on every 'ready', and every 250 ms while it fails. */
  private trySubscribe(): void {
    if (this.closed || this.subscriber.status !== 'ready') return;
    const attempt = ++this.attempt;
    this.health.timeout.bound(this.subscriber.subscribe(this.channel), `${WHERE}: subscribe`).then(
      () => {
        if (this.closed || attempt !== this.attempt) return;
        const again = this.subscribedOnce;
        this.subscribed = true;
        this.subscribedOnce = true;
        this.cancelReady?.();
        this.cancelReady = undefined;
        this.resolveReady();
        if (this.downSince !== undefined) {
          const downMs = Math.max(0, this.clock.now() - this.downSince);
          this.downSince = undefined;
          this.emit({ type: 'store-recovered', store: WHERE, downMs });
        }
        // Back after a disconnect: what was published meanwhile is lost, so caches start over.
        if (again) this.deliver({ reset: true }, undefined);
      },
      (error: unknown) => {
        if (this.closed || attempt !== this.attempt) return;
        this.lost(error);
        this.retryLater();
      },
    );
  }

  private retryLater(): void {
    if (this.cancelRetry !== undefined || this.closed) return;
    this.cancelRetry = this.clock.setTimer(
      () => {
        this.cancelRetry = undefined;
        if (!this.subscribed) this.trySubscribe();
      },
      RETRY_EVERY_MS,
      'background',
    );
  }

  /** The subscription is gone or could not be made: once per outage. */
  private lost(error: unknown): void {
    if (this.closed || this.downSince !== undefined) return;
    this.downSince = this.clock.now();
    this.emit({
      type: 'store-error',
      store: WHERE,
      operation: 'subscribe',
      error:
        error instanceof StoreUnavailableError
          ? error
          : new StoreUnavailableError(
              `${WHERE}: not subscribed to ${JSON.stringify(this.channel)} (${describeError(error)}); invalidations from other processes are missed until it is, then memory tiers are reset`,
              { cause: error },
            ),
      onStoreError: 'reset',
    });
  }

  private async publish(message: InvalidationMessage, from: Handler | undefined): Promise<void> {
    const wire: Wire = { i: this.id };
    if ('keys' in message) wire.k = [...message.keys];
    else if ('tag' in message) wire.t = message.tag;
    else return;
    this.deliver(message, from);
    const raw = JSON.stringify(wire);
    await this.health.send('publish', () => this.client.publish(this.channel, raw));
  }

  private receive(raw: string): void {
    let wire: Wire;
    try {
      wire = JSON.parse(raw) as Wire;
    } catch {
      return; // not ours
    }
    if (wire.i === this.id) return;
    if (Array.isArray(wire.k)) this.deliver({ keys: wire.k }, undefined);
    else if (typeof wire.t === 'string') this.deliver({ tag: wire.t }, undefined);
  }

  private deliver(message: InvalidationMessage, from: Handler | undefined): void {
    for (const handler of this.handlers) {
      if (handler === from) continue;
      try {
        handler(message);
      } catch (error) {
        reportLater(error);
      }
    }
  }

  private emit(event: RedisStoreEvent): void {
    notifyAll(this.listeners, event);
  }
}

/** Invalidations shared by every process: `tiered(memory, redis, { bus })` publishes and applies them. */
export function redisInvalidationBus(options: RedisInvalidationBusOptions): RedisInvalidationBus {
  return new RedisInvalidationBus(options);
}
