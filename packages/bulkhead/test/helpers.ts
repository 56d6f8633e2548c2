export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface Tracked<T> {
  state: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  error?: unknown;
}

/** Where a promise stands, without waiting for it. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const seen: Tracked<T> = { state: 'pending' };
  promise.then(
    (value) => {
      seen.state = 'fulfilled';
      seen.value = value;
    },
    (error: unknown) => {
      seen.state = 'rejected';
      seen.error = error;
    },
  );
  return seen;
}

/** Lets every queued promise job run. */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A signal whose addEventListener / removeEventListener calls are counted. */
export function countedSignal(): {
  controller: AbortController;
  signal: AbortSignal;
  readonly listeners: number;
} {
  const controller = new AbortController();
  const { signal } = controller;
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  const live = new Set<unknown>();
  signal.addEventListener = ((type: string, listener: never, options?: never) => {
    if (!live.has(listener)) listeners++;
    live.add(listener);
    add(type, listener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: never, options?: never) => {
    if (live.delete(listener)) listeners--;
    remove(type, listener, options);
  }) as typeof signal.removeEventListener;
  return {
    controller,
    signal,
    get listeners() {
      return listeners;
    },
  };
}
