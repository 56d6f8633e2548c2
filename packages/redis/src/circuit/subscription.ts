import type {
  CircuitListener,
  CircuitRecord,
  CircuitStatusListener,
  CircuitStoreStatus,
} from '@bulwark/circuit-breaker';
import { reportLater, StoreUnavailableError } from '@bulwark/core';
import type { RedisClient } from '../shared/client.js';
import { fromRelative, parseRelative } from './record.js';

/** What the subscription needs from its store. */
export interface SubscriptionHost {
  /** The subscribing connection closed (`wasSubscribed`: it had been listening until now). */
  lost(error: unknown, wasSubscribed: boolean): void;
  /** Connected again, every channel subscribed again. */
  resubscribed(): void;
  /** The stored record of a circuit, read once its channel is subscribed. */
  read(name: string): Promise<CircuitRecord | undefined>;
  now(): number;
}

// Held weakly, as memoryCircuitStore holds its watchers: a dropped breaker is not kept alive.
interface Watcher {
  readonly listener: WeakRef<CircuitListener>;
  readonly status: WeakRef<CircuitStatusListener> | undefined;
}

interface Channel {
  readonly name: string;
  readonly channel: string;
  readonly watchers: Set<Watcher>;
  /** Subscribed once and the stored record read after: nothing written since is missed. */
  readonly ready: Promise<void>;
  markReady(): void;
  confirmed: boolean;
}

/**
 * The store's pub/sub side: one connection of its own (`client.duplicate()`, never the client,
 * which subscribe mode would take over), one channel per circuit watched, records delivered to
 * the breakers that watch it.
 */
export class CircuitSubscription {
  private connection: RedisClient | undefined;
  private readonly channels = new Map<string, Channel>();
  private subscribed = false;
  private closing = false;

  constructor(
    private readonly client: RedisClient,
    private readonly host: SubscriptionHost,
  ) {}

  /** True when there is nothing to listen to, or every channel is subscribed. */
  get ready(): boolean {
    return this.connection === undefined || this.subscribed;
  }

  add(
    name: string,
    channelName: string,
    listener: CircuitListener,
    onStatus: CircuitStatusListener | undefined,
  ): () => void {
    const watcher: Watcher = {
      listener: new WeakRef(listener),
      status: onStatus === undefined ? undefined : new WeakRef(onStatus),
    };
    let channel = this.channels.get(channelName);
    if (channel === undefined) {
      let markReady!: () => void;
      const ready = new Promise<void>((resolve) => (markReady = resolve));
      channel = {
        name,
        channel: channelName,
        watchers: new Set(),
        ready,
        markReady,
        confirmed: false,
      };
      this.channels.set(channelName, channel);
      const connection = this.connect();
      // Not ready yet: the 'ready' handler subscribes every channel.
      if (this.subscribed) {
        connection.subscribe(channelName).then(
          () => this.confirm(channelName),
          () => {},
        );
      }
    }
    channel.watchers.add(watcher);
    const watched = channel;
    return () => this.remove(watched, watcher);
  }

  /** Resolves once every channel added so far is subscribed and its record read. */
  whenReady(): Promise<void> {
    return Promise.all([...this.channels.values()].map((c) => c.ready)).then(() => {});
  }

  /** Tells every breaker watching through this store. */
  notify(status: CircuitStoreStatus): void {
    for (const channel of this.channels.values()) {
      for (const watcher of channel.watchers) {
        const listener = watcher.status?.deref();
        if (listener === undefined) {
          if (watcher.listener.deref() === undefined) this.remove(channel, watcher);
          continue;
        }
        try {
          listener(status);
        } catch (error) {
          reportLater(error);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const connection = this.connection;
    this.connection = undefined;
    for (const channel of this.channels.values()) channel.markReady();
    this.channels.clear();
    if (connection === undefined) return;
    if (connection.status === 'ready') await connection.quit().catch(() => {});
    connection.disconnect();
  }

  private connect(): RedisClient {
    if (this.connection !== undefined) return this.connection;
    const connection = this.client.duplicate();
    this.connection = connection;
    connection.on('error', () => {}); // it reconnects on its own; the store reports the outage
    connection.on('message', (channel: string, message: string) => this.receive(channel, message));
    connection.on('ready', () => this.resubscribe(connection));
    connection.on('close', () => {
      if (this.closing || connection !== this.connection) return;
      const wasSubscribed = this.subscribed;
      this.subscribed = false;
      this.host.lost(
        new StoreUnavailableError(
          wasSubscribed
            ? 'redisCircuitStore: lost the connection that listens to circuit changes'
            : 'redisCircuitStore: cannot connect to listen to circuit changes',
        ),
        wasSubscribed,
      );
    });
    if (connection.status === 'wait') connection.connect().catch(() => {});
    return connection;
  }

  /** Connected (again): subscribes every channel, then lets the store check Redis is back. */
  private resubscribe(connection: RedisClient): void {
    const names = [...this.channels.keys()];
    const done = () => {
      if (this.closing || connection !== this.connection) return;
      this.subscribed = true;
      for (const [name, channel] of this.channels) {
        if (channel.confirmed) continue;
        if (names.includes(name)) this.confirm(name);
        else
          connection.subscribe(name).then(
            () => this.confirm(name),
            () => {},
          );
      }
      this.host.resubscribed();
    };
    if (names.length === 0) done();
    else connection.subscribe(...names).then(done, () => {});
  }

  /** First subscription of a channel: the record stored before it may not have been heard. */
  private confirm(channelName: string): void {
    const channel = this.channels.get(channelName);
    if (channel === undefined || channel.confirmed) return;
    channel.confirmed = true;
    this.host
      .read(channel.name)
      .then(
        (record) => {
          if (record !== undefined) this.deliver(channel, record, undefined);
        },
        () => {}, // the store reports its outage; breakers read again when it is back
      )
      .finally(channel.markReady);
  }

  private receive(channelName: string, message: string): void {
    const channel = this.channels.get(channelName);
    if (channel === undefined) return;
    let values: unknown;
    try {
      values = JSON.parse(message);
    } catch {
      return; // not one of ours
    }
    if (!Array.isArray(values) || typeof values[0] !== 'string') return;
    const relative = parseRelative(values.slice(1));
    if (relative === undefined) return;
    const record = fromRelative(relative, this.host.now());
    this.deliver(channel, record, values[0] === '' ? undefined : values[0]);
  }

  private deliver(channel: Channel, record: CircuitRecord, writer: string | undefined): void {
    for (const watcher of channel.watchers) {
      const listener = watcher.listener.deref();
      if (listener === undefined) {
        this.remove(channel, watcher);
        continue;
      }
      try {
        listener(record, writer);
      } catch (error) {
        reportLater(error);
      }
    }
  }

  private remove(channel: Channel, watcher: Watcher): void {
    if (!channel.watchers.delete(watcher) || channel.watchers.size > 0) return;
    if (this.channels.get(channel.channel) !== channel) return;
    this.channels.delete(channel.channel);
    channel.markReady();
    this.connection?.unsubscribe(channel.channel).catch(() => {});
  }
}
