import { type Context, noop, type PolicyEvent, pipeline } from '@bulwark/core';
import { describe, expect, it } from 'vitest';
import { Recorder } from './helpers.js';

describe('pipeline', () => {
  it('runs the first policy outermost', async () => {
    const log: string[] = [];
    const p = pipeline(new Recorder('a', log), new Recorder('b', log), new Recorder('c', log));
    await p.execute(() => log.push('fn'));
    expect(log).toEqual(['a:in', 'b:in', 'c:in', 'fn', 'c:out', 'b:out', 'a:out']);
  });

  it('passes key and attempt inward', async () => {
    const p = pipeline(noop, new Recorder('r'), noop);
    const seen = await p.execute((ctx: Context) => [ctx.key, ctx.attempt], { key: 'tenant-1' });
    expect(seen).toEqual(['tenant-1', 1]);
  });

  it('returns what fn returns, sync or async', async () => {
    const p = pipeline(noop, noop);
    expect(await p.execute(() => 42)).toBe(42);
    expect(await p.execute(async () => 'x')).toBe('x');
  });

  it('rejects with what fn throws, sync or async', async () => {
    const p = pipeline(new Recorder('a'), noop);
    const boom = new Error('boom');
    await expect(
      p.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(p.execute(async () => Promise.reject(boom))).rejects.toBe(boom);
  });

  it('with no policies just runs fn', async () => {
    expect(await pipeline().execute(() => 'ran')).toBe('ran');
  });

  it('hears the events of every policy inside it, through nested pipelines', async () => {
    const inner = pipeline(new Recorder('b'), new Recorder('c'));
    const outer = pipeline(new Recorder('a'), inner);
    const outerEvents: string[] = [];
    const innerEvents: string[] = [];
    outer.on((e: PolicyEvent) => outerEvents.push(`${e.policy}:${e.type}`));
    inner.on((e: PolicyEvent) => innerEvents.push(e.policy));
    await outer.execute(() => undefined);
    expect(outerEvents).toEqual(['a:call', 'b:call', 'c:call']);
    expect(innerEvents).toEqual(['b', 'c']);
  });

  it('delivers an event once to a pipeline that reaches a policy by two paths', async () => {
    const shared = new Recorder('shared');
    const top = pipeline(pipeline(shared), pipeline(shared));
    const events: PolicyEvent[] = [];
    top.on((e) => events.push(e));
    await shared.execute(() => undefined);
    expect(events).toHaveLength(1);
  });

  it('builds no event object when nobody listens, and stops after unsubscribe', async () => {
    const r = new Recorder('r');
    const p = pipeline(r);
    await p.execute(() => undefined);
    expect(r.eventsBuilt).toBe(0);
    const off = p.on(() => {});
    await p.execute(() => undefined);
    expect(r.eventsBuilt).toBe(1);
    off();
    off();
    await p.execute(() => undefined);
    expect(r.eventsBuilt).toBe(1);
  });

  it('runs a hand-written policy that only has execute and on', async () => {
    const log: string[] = [];
    const handWritten = {
      execute<T>(fn: (ctx: Context) => T | PromiseLike<T>, options?: { key?: string }) {
        log.push(`hand:${options?.key}`);
        return Promise.resolve(
          fn({ attempt: 1, key: options?.key, signal: new AbortController().signal }),
        );
      },
      on: () => () => {},
    };
    const p = pipeline(new Recorder('a', log), handWritten);
    expect(await p.execute((ctx) => ctx.key, { key: 'k' })).toBe('k');
    expect(log).toEqual(['a:in', 'hand:k', 'a:out']);
  });

  it('names a bad argument', () => {
    expect(() => pipeline(noop, 3 as never)).toThrow(
      /pipeline: argument 2 must be a policy, got number/,
    );
  });

  it('rejects a fn that is not a function', async () => {
    await expect(pipeline().execute(undefined as never)).rejects.toThrow(TypeError);
  });

  it('reports a throwing listener without breaking the call', async () => {
    const p = pipeline(new Recorder('a'));
    p.on(() => {
      throw new Error('listener bug');
    });
    const uncaught = new Promise<unknown>((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (error) => {
        for (const l of listeners) process.on('uncaughtException', l);
        resolve(error);
      });
    });
    expect(await p.execute(() => 'fine')).toBe('fine');
    expect(((await uncaught) as Error).message).toBe('listener bug');
  });
});

describe('listeningChanged', () => {
  class Watched extends Recorder {
    changes: boolean[] = [];
    protected override listeningChanged(listening: boolean): void {
      this.changes.push(listening);
    }
  }

  it('tells a policy when its first listener arrives and its last leaves, through pipelines', () => {
    const watched = new Watched('w');
    const outer = pipeline(pipeline(watched));
    const stopOuter = outer.on(() => {});
    const stopOwn = watched.on(() => {});
    stopOuter();
    expect(watched.changes).toEqual([true]);
    stopOwn();
    expect(watched.changes).toEqual([true, false]);
  });
});
