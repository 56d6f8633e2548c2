import { type Context, fallback, type PolicyEvent, pipeline, TimeoutError } from '@bulwark/core';
import { describe, expect, it } from 'vitest';

describe('fallback', () => {
  it('replaces a failure with a value', async () => {
    const p = fallback({ value: 'cached' });
    expect(await p.execute(async () => Promise.reject(new Error('down')))).toBe('cached');
  });

  it('replaces a failure with what fn returns, given the error and the context', async () => {
    const p = fallback({
      fn: (error: unknown, ctx: Context) => `${(error as Error).message}@${ctx.key}`,
    });
    expect(
      await p.execute(
        () => {
          throw new Error('sync');
        },
        { key: 'k' },
      ),
    ).toBe('sync@k');
  });

  it('passes a success through', async () => {
    expect(await fallback({ value: 0 }).execute(async () => 7)).toBe(7);
  });

  it('replaces only the errors `when` accepts', async () => {
    const p = fallback({ value: 'late' }, { when: (e) => e instanceof TimeoutError });
    expect(await p.execute(async () => Promise.reject(new TimeoutError()))).toBe('late');
    const other = new Error('other');
    await expect(p.execute(async () => Promise.reject(other))).rejects.toBe(other);
  });

  it("never replaces the caller's abort", async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const p = pipeline(fallback({ value: 'nope' }));
    const call = p.execute(
      (ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        ),
      { signal: controller.signal },
    );
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
  });

  it('emits fallback with the error it replaced', async () => {
    const p = fallback({ value: 1 });
    const events: PolicyEvent[] = [];
    p.on((e) => events.push(e));
    const error = new Error('x');
    await p.execute(() => Promise.reject(error));
    expect(events).toEqual([{ policy: 'fallback', type: 'fallback', error }]);
  });

  it('names bad options', () => {
    expect(() => fallback({} as never)).toThrow(/fallback: pass \{ value \} or \{ fn/);
    expect(() => fallback({ fn: 3 as never })).toThrow(/fallback: fn must be a function, got 3/);
    expect(() => fallback({ value: 1 }, { when: true as never })).toThrow(
      /fallback: when must be a function/,
    );
  });
});
