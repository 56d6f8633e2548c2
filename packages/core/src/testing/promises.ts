/** A promise and the functions that settle it, for a test to decide when a call finishes. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Where a promise stands; `track` keeps it up to date. */
export class Tracked<T> {
  state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  value?: T;
  error?: unknown;

  /** True once fulfilled or rejected. */
  get settled(): boolean {
    return this.state !== 'pending';
  }
}

/** Follows a promise without awaiting it, so a test can look at it while time moves. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const seen = new Tracked<T>();
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
