export { type Deferred, deferred, Tracked, track } from '@bulwark/core/testing';

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
