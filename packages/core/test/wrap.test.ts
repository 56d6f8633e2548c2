import { type Context, noop, pipeline, wrap } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { Recorder } from './helpers.js';

describe('wrap', () => {
  it('passes the arguments, then the Context last', async () => {
    const calls: unknown[][] = [];
    const get = wrap(noop, async (url: string, retries: number, ctx?: Context) => {
      calls.push([url, retries, ctx?.attempt]);
      return url.length + retries;
    });
    expect(await get('/users', 2)).toBe(8);
    expect(calls).toEqual([['/users', 2, 1]]);
  });

  it('keeps a function that takes no Context working as before', async () => {
    const add = wrap(noop, (a: number, b: number) => a + b);
    expect(await add(2, 3)).toBe(5);
  });

  it('derives the key and the signal from the arguments', async () => {
    const controller = new AbortController();
    const seen = wrap(
      pipeline(new Recorder('r')),
      (_user: string, _init: { signal: AbortSignal }, ctx: Context) => [ctx.key, ctx.signal],
      { key: (user) => `user:${user}`, signal: (_user, init) => init.signal },
    );
    expect(await seen('ann', { signal: controller.signal })).toEqual([
      'user:ann',
      controller.signal,
    ]);
  });

  it('hands fn its Context last even when the caller leaves optional arguments out', async () => {
    const get = wrap(noop, (url: string, init?: { method: string }, ctx?: Context) => [
      url,
      init,
      ctx?.attempt,
    ]);
    expect(await get('/a')).toEqual(['/a', undefined, 1]);
    expect(await get('/b', { method: 'POST' })).toEqual(['/b', { method: 'POST' }, 1]);
  });

  it('rejects when fn throws', async () => {
    const fail = wrap(noop, () => {
      throw new RangeError('bad');
    });
    await expect(fail()).rejects.toThrow(RangeError);
  });

  it('names bad arguments', () => {
    expect(() => wrap({} as never, () => 1)).toThrow(/wrap: policy must be a policy/);
    expect(() => wrap(noop, 'x' as never)).toThrow(/wrap: fn must be a function, got string/);
    expect(() => wrap(noop, () => 1, { key: 'k' as never })).toThrow(
      /wrap: key must be a function/,
    );
  });
});
