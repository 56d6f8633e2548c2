import type { CircuitRecord } from './record.js';

/**
 * Where a circuit's state lives, so several breakers (a fleet of processes, through Redis) can
 * share one circuit. Each breaker still counts calls with its own strategy, so a passing call
 * never touches the store; only transitions do (open, a half-open probe claim, close, isolate,
 * release, reset). Every method may answer synchronously or with a promise.
 */
export interface CircuitStore {
  /** The record of circuit `name`, or undefined if it was never written (closed, version 0). */
  read(name: string): CircuitRecord | undefined | PromiseLike<CircuitRecord | undefined>;
  /**
   * Compare-and-set: stores `next` only if the stored record's version is still `expectedVersion`
   * (0 for a circuit never written). True when it did; false when another writer came first.
   * `writer` names the breaker writing; a store that watches hands it back with the record.
   */
  write(
    name: string,
    expectedVersion: number,
    next: CircuitRecord,
    writer?: string,
  ): boolean | PromiseLike<boolean>;
  /**
   * Optional: calls `listener` with the records written (with the `writer` given to `write`, so
   * a breaker tells its own writes from others'), so a breaker follows them at once; without it
   * a breaker learns of them at its next transition. A networked store also calls `onStatus` when
   * it loses its server and when it has it back (the breaker then reads the record again).
   * Returns the unsubscribe.
   */
  watch?(name: string, listener: CircuitListener, onStatus?: CircuitStatusListener): () => void;
  /**
   * Optional: a store that leases half-open probes (so a crashed prober does not hold the
   * circuit half-open forever) leases each half-open write for this long. While a probe runs,
   * the breaker renews the lease every third of it, so a slow probe keeps its place.
   */
  readonly probeLeaseMs?: number;
}

export type CircuitListener = (record: CircuitRecord, writer?: string) => void;

/**
 * `available: false`: the store lost its server; breakers go on alone. `available: true`: it is
 * back, and what a breaker holds may be stale: it reads the stored record and adopts it.
 */
export type CircuitStoreStatus = { available: false; error: unknown } | { available: true };

export type CircuitStatusListener = (status: CircuitStoreStatus) => void;

type Listener = CircuitListener;

/**
 * Circuits shared by the breakers of one process. Every breaker without a `store` gets one of
 * its own. Watchers are held weakly: a breaker that is dropped is not kept alive by the store.
 */
export function memoryCircuitStore(): CircuitStore {
  const records = new Map<string, CircuitRecord>();
  const watchers = new Map<string, Set<WeakRef<Listener>>>();

  const notify = (name: string, record: CircuitRecord, writer: string | undefined) => {
    const refs = watchers.get(name);
    if (refs === undefined) return;
    for (const ref of [...refs]) {
      const listener = ref.deref();
      if (listener === undefined) refs.delete(ref);
      else listener(record, writer);
    }
  };

  return {
    read: (name) => records.get(name),
    write(name, expectedVersion, next, writer) {
      if ((records.get(name)?.version ?? 0) !== expectedVersion) return false;
      records.set(name, next);
      notify(name, next, writer);
      return true;
    },
    watch(name, listener) {
      const ref = new WeakRef(listener);
      let refs = watchers.get(name);
      if (refs === undefined) watchers.set(name, (refs = new Set()));
      refs.add(ref);
      return () => {
        refs.delete(ref);
      };
    },
  };
}
