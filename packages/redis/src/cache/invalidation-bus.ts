import { randomUUID } from 'node:crypto';
import type { RedisClient } from './scripts.js';

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

export interface RedisInvalidationBusOptions {
  /** Publishes on this client; subscribes on `client.duplicate()`, never on it. */
  client: RedisClient;
  /** The channel is `${prefix}:invalidate`; default prefix 'bulwark:cache'. */
  prefix?: string;
  /** The channel itself, instead of one derived from `prefix`. */
  channel?: string;
  /** Errors of the subscribing connection (it reconnects and resubscribes on its own). */
  onError?: (error: unknown) => void;
}

type Handler = (message: InvalidationMessage) => void;

interface Wire {
  /** The publishing bus: a process ignores its own messages. */
  i: string;
  k?: string[];
  t?: string;
}

/**
 * Invalidations over Redis pub/sub. Each bus has an instance id; the messages it receives back
 * from Redis are its own and were already delivered in-process, so they are ignored.
 */
export class RedisInvalidationBus implements InvalidationBus {
  readonly id = randomUUID();
  readonly channel: string;
  /** Resolves once the subscription is active: messages published after it are heard. */
  readonly ready: Promise<void>;
  private readonly client: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly handlers = new Set<Handler>();
  private subscribed = false;
  private closed = false;

  constructor(options: RedisInvalidationBusOptions) {
    const where = 'redisInvalidationBus';
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`${where}: options must be an object, got ${typeof options}`);
    }
    const { client, prefix = 'bulwark:cache', channel, onError } = options;
    if (typeof client?.duplicate !== 'function' || typeof client?.publish !== 'function') {
      throw new TypeError(`${where}: client must be an ioredis client, got ${typeof client}`);
    }
    if (typeof prefix !== 'string' || prefix.length === 0) {
      throw new TypeError(
        `${where}: prefix must be a non-empty string, got ${JSON.stringify(prefix)}`,
      );
    }
    if (channel !== undefined && (typeof channel !== 'string' || channel.length === 0)) {
      throw new TypeError(
        `${where}: channel must be a non-empty string, got ${JSON.stringify(channel)}`,
      );
    }
    if (onError !== undefined && typeof onError !== 'function') {
      throw new TypeError(`${where}: onError must be a function, got ${typeof onError}`);
    }
    this.client = client;
    this.channel = channel ?? `${prefix}:invalidate`;
    // A connection in subscriber mode can do nothing else: it must not be the caller's.
    this.subscriber = client.duplicate() as RedisClient;
    this.subscriber.on('error', (error: unknown) => onError?.(error));
    this.subscriber.on('message', (channelName: string, raw: string) => {
      if (channelName === this.channel) this.receive(raw);
    });
    this.subscriber.on('ready', () => {
      // Back after a disconnect: what was published meanwhile is lost, so caches start over.
      if (this.subscribed) this.deliver({ reset: true }, undefined);
    });
    this.ready = this.subscriber.subscribe(this.channel).then(() => {
      this.subscribed = true;
    });
    this.ready.catch((error: unknown) => onError?.(error));
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
    await this.ready.catch(() => undefined);
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  private async publish(message: InvalidationMessage, from: Handler | undefined): Promise<void> {
    const wire: Wire = { i: this.id };
    if ('keys' in message) wire.k = [...message.keys];
    else if ('tag' in message) wire.t = message.tag;
    else return;
    this.deliver(message, from);
    await this.client.publish(this.channel, JSON.stringify(wire));
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
        process.nextTick(() => {
          throw error;
        });
      }
    }
  }
}

/** Invalidations shared by every process: `tiered(memory, redis, { bus })` publishes and applies them. */
export function redisInvalidationBus(options: RedisInvalidationBusOptions): RedisInvalidationBus {
  return new RedisInvalidationBus(options);
}
