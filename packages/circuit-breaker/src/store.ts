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
   */
  write(name: string, expectedVersion: number, next: CircuitRecord): boolean | PromiseLike<boolean>;
  /**
   * Optional: calls `listener` with the records other breakers write, so this one follows them
   * at once; without it a breaker learns of them at its next transition. Returns the unsubscribe.
   */
  watch?(name: string, listener: (record: CircuitRecord) => void): () => void;
}

type Listener = (record: CircuitRecord) => void;

/**
 * Circuits shared by the breakers of one process. Every breaker without a `store` gets one of
 * its own. Watchers are held weakly: a breaker that is dropped is not kept alive by the store.
 */
export function memoryCircuitStore(): CircuitStore {
  const records = new Map<string, CircuitRecord>();
  const watchers = new Map<string, Set<WeakRef<Listener>>>();

  const notify = (name: string, record: CircuitRecord) => {
    const refs = watchers.get(name);
    if (refs === undefined) return;
    for (const ref of [...refs]) {
      const listener = ref.deref();
      if (listener === undefined) refs.delete(ref);
      else listener(record);
    }
  };

  return {
    read: (name) => records.get(name),
    write(name, expectedVersion, next) {
      if ((records.get(name)?.version ?? 0) !== expectedVersion) return false;
      records.set(name, next);
      notify(name, next);
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
