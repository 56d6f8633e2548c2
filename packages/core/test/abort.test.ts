import { type Context, noop, pipeline } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { Recorder } from './helpers.js';

describe('cancellation', () => {
  it('rejects with the reason of a signal already aborted, without running fn', async () => {
    const reason = new Error('user left');
    let ran = false;
    await expect(
      pipeline(noop).execute(
        () => {
          ran = true;
        },
        { signal: AbortSignal.abort(reason) },
      ),
    ).rejects.toBe(reason);
    expect(ran).toBe(false);
  });

  it('rejects with the reason the moment the signal aborts, even if fn ignores it', async () => {
    const controller = new AbortController();
    const reason = { custom: 'reason object' };
    const call = pipeline(new Recorder('a')).execute(() => new Promise(() => {}), {
      signal: controller.signal,
    });
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  it("hands fn the caller's own signal", async () => {
    const controller = new AbortController();
    const seen = await noop.execute((ctx: Context) => ctx.signal, { signal: controller.signal });
    expect(seen).toBe(controller.signal);
  });

  it('gives fn a live signal even when the caller passed none', async () => {
    const signal = await noop.execute((ctx: Context) => ctx.signal);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal.aborted).toBe(false);
  });

  it('removes its abort listener once the call settles', async () => {
    const controller = new AbortController();
    const added: unknown[] = [];
    const removed: unknown[] = [];
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((type: string, l: () => void, o?: unknown) => {
      added.push(l);
      add(type, l, o as never);
    }) as never;
    signal.removeEventListener = ((type: string, l: () => void) => {
      removed.push(l);
      remove(type, l);
    }) as never;
    await noop.execute(async () => 1, { signal });
    await expect(
      noop.execute(async () => Promise.reject(new Error('x')), { signal }),
    ).rejects.toThrow('x');
    expect(removed).toEqual(added);
    expect(added).toHaveLength(2);
  });
});

describe('the lazy signal', () => {
  it('builds no AbortController for a call that never reads ctx.signal', async () => {
    const Original = globalThis.AbortController;
    let built = 0;
    globalThis.AbortController = class extends Original {
      constructor() {
        super();
        built++;
      }
    };
    try {
      await pipeline(noop, new Recorder('r')).execute(async (ctx: Context) => ctx.attempt);
      expect(built).toBe(0);
      await noop.execute((ctx: Context) => ctx.signal);
      expect(built).toBe(1);
    } finally {
      globalThis.AbortController = Original;
    }
  });
});
