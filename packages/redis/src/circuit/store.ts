import type {
  CircuitListener,
  CircuitRecord,
  CircuitStatusListener,
  CircuitStore,
} from '@bulwark/circuit-breaker';
import type { Clock } from '@bulwark/core';
import type { RedisClient } from '../shared/client.js';
import { RedisHealth, type RedisStoreListener } from '../shared/health.js';
import { circuitChannel, circuitKey } from './keys.js';
import { type RedisCircuitStoreOptions, resolveCircuitStoreOptions } from './options.js';
import { fromRelative, toRelative } from './record.js';
import { READ, WRITE } from './scripts.js';
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
  /** False while Redis is considered away: every breaker of this store goes on alone. */
  readonly available: boolean;
  /**
   * `store-error` (once per outage, `onStoreError: 'local'`: each breaker goes on alone) and
   * `store-recovered` ({ downMs }) when Redis answers again and the breakers rejoin.
   */
  on(listener: RedisStoreListener): () => void;
  /** Resolves once every circuit watched so far is subscribed, and its stored record read after. */
  ready(): Promise<void>;
  /** The Redis key of circuit `name` (its channel is this key + `:changes`). */
  redisKey(name: string): string;
  /** Stops listening: quits the store's own connection. The client you gave stays yours. */
  close(): Promise<void>;
}

const STORE = 'redisCircuitStore';

class RedisCircuits implements RedisCircuitStore {
  private readonly client: RedisClient;
  private readonly prefix: string;
  /** Each half-open write leases the probes for this long; the breaker renews it meanwhile. */
  readonly probeLeaseMs: number;
  private readonly clock: Clock;
  private readonly health: RedisHealth;
  private readonly subscription: CircuitSubscription;
  /** What the watching breakers were last told: they read again on each return to true. */
  private told = true;
  private closed = false;

  constructor(options: RedisCircuitStoreOptions) {
    const o = resolveCircuitStoreOptions(options);
    this.client = o.client;
    this.prefix = o.prefix;
    this.probeLeaseMs = o.probeLeaseMs;
    this.clock = o.clock;
    this.health = new RedisHealth(o.client, {
      store: STORE,
      timeoutMs: o.timeoutMs,
      clock: o.clock,
      onStoreError: 'local',
    });
    this.health.on((event) => {
      if (event.type === 'store-error') this.tell(false, event.error);
      else this.tell(true);
    });
    this.subscription = new CircuitSubscription(o.client, {
      // Without it a breaker misses the fleet's changes: as good as Redis away.
      // Once per outage: every failed reconnect closes the connection again.
      lost: (error, wasSubscribed) => {
        if (wasSubscribed) this.health.failed(error, 'subscribe');
        this.tell(false, error);
      },
      resubscribed: () => this.tell(true),
      read: (name) => this.read(name),
      now: () => this.clock.now(),
    });
  }

  get available(): boolean {
    return this.health.available;
  }

  redisKey(name: string): string {
    return circuitKey(this.prefix, name);
  }

  read(name: string): Promise<CircuitRecord | undefined> {
    const key = this.redisKey(name);
    return this.health
      .send('read', () => READ.run(this.client, [key], []), undefined, name)
      .then((reply) => {
        if (reply === null) return undefined;
        if (reply === false) {
          throw new TypeError(
            `${STORE}: ${key} does not hold a circuit record; another program writes under this prefix: give the store a prefix of its own`,
          );
        }
        return fromRelative(reply, this.clock.now());
      });
  }

  write(name: string, expectedVersion: number, next: CircuitRecord, writer = ''): Promise<boolean> {
    const key = this.redisKey(name);
    const relative = toRelative(next, this.clock.now(), this.probeLeaseMs);
    const message = JSON.stringify([writer, ...relative]);
    return this.health.send(
      'write',
      () =>
        WRITE.run(this.client, [key, circuitChannel(key)], [expectedVersion, ...relative, message]),
      undefined,
      name,
    );
  }

  watch(name: string, listener: CircuitListener, onStatus?: CircuitStatusListener): () => void {
    if (this.closed) return () => {};
    return this.subscription.add(name, circuitChannel(this.redisKey(name)), listener, onStatus);
  }

  on(listener: RedisStoreListener): () => void {
    return this.health.on(listener);
  }

  ready(): Promise<void> {
    return this.subscription.whenReady();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.health.close();
    await this.subscription.close();
  }

  /**
   * Tells the breakers Redis is away, or back once it answers and every circuit is subscribed
   * again: they then read the stored record, which wins over what they did alone.
   */
  private tell(available: boolean, error?: unknown): void {
    if (this.closed) return;
    if (available && !(this.health.available && this.subscription.ready)) return;
    if (available === this.told) return;
    this.told = available;
    this.subscription.notify(available ? { available: true } : { available: false, error });
  }
}

/**
 * A `CircuitStore` in Redis (standalone or Cluster) for `circuitBreaker({ store, name })`: one
 * circuit for a fleet. Each breaker still counts its own calls (a passing call never reaches
 * Redis) and decides on them at once; a transition is then one compare-and-set script that
 * also PUBLISHes it, so every breaker of that name follows within milliseconds. Times travel as
 * offsets on Redis' clock. While Redis is away, the breakers go on alone, and rejoin when it is
 * back.
 */
export function redisCircuitStore(options: RedisCircuitStoreOptions): RedisCircuitStore {
  return new RedisCircuits(options);
}
