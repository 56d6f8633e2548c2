import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  isResilienceError,
  noop,
  pipeline,
  StoreUnavailableError,
} from '@bulwark/core';
import {
  fingerprint,
  IdempotencyLeaseLostError,
  idempotency,
  jsonSerializer,
} from '@bulwark/idempotency';
import { describe, expect, it } from 'vitest';
import { deferred, faultyStore, setup } from './helpers.js';

const fp = fingerprint({ amount: 100 });

describe('idempotency: once per key', () => {
  it('runs fn once and replays its result to a repeat with the same fingerprint', async () => {
    const { policy } = setup();
    let calls = 0;
    const charge = async () => ({ charge: ++calls });
    expect(await policy.run('k', fp, charge)).toEqual({ charge: 1 });
    expect(await policy.run('k', fp, charge)).toEqual({ charge: 1 });
    expect(calls).toBe(1);
  });

  it('gives every caller its own copy of the result', async () => {
    const { policy } = setup();
    const first = await policy.run('k', fp, () => ({ items: [1] }));
    first.items.push(2);
    const second = await policy.run('k', fp, () => ({ items: [] as number[] }));
    second.items.push(3);
    expect(await policy.run('k', fp, () => ({ items: [] as number[] }))).toEqual({ items: [1] });
  });

  it('gives the first caller the stored copy too, so it sees what repeats see', async () => {
    const { policy } = setup();
    const at = new Date('2024-05-01T00:00:00Z');
    const first = await policy.run('k', fp, () => ({ at }));
    expect(first).toEqual({ at: '2024-05-01T00:00:00.000Z' });
    expect(await policy.run('k', fp, () => ({ at }))).toEqual(first);
  });

  it('replays undefined from a function that returns nothing', async () => {
    const { policy } = setup();
    let calls = 0;
    const fn = () => {
      calls++;
    };
    expect(await policy.run('k', fp, fn)).toBeUndefined();
    expect(await policy.run('k', fp, fn)).toBeUndefined();
    expect(calls).toBe(1);
  });

  it('handles a synchronous fn, its value and its throw', async () => {
    const { policy } = setup();
    expect(await policy.run('a', fp, () => 7)).toBe(7);
    await expect(
      policy.run('b', fp, () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
  });

  it('answers IdempotencyKeyReusedError when the key returns with another fingerprint', async () => {
    const { policy, types } = setup();
    await policy.run('k', fingerprint({ amount: 100 }), () => 'ok');
    await expect(policy.run('k', fingerprint({ amount: 200 }), () => 'x')).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    expect(types()).toContain('key-reused');
  });

  it('answers IdempotencyKeyReusedError while the first call with another fingerprint runs', async () => {
    const { policy } = setup();
    const gate = deferred();
    const first = policy.run('k', fingerprint({ amount: 100 }), () => gate.promise);
    await expect(policy.run('k', fingerprint({ amount: 200 }), () => 'x')).rejects.toBeInstanceOf(
      IdempotencyKeyReusedError,
    );
    gate.resolve();
    await first;
  });

  it('matches payloads whatever their key order', async () => {
    const { policy } = setup();
    await policy.run('k', fingerprint({ amount: 100, currency: 'eur' }), () => 'ok');
    await expect(
      policy.run('k', fingerprint({ currency: 'eur', amount: 100 }), () => 'again'),
    ).resolves.toBe('ok');
  });

  it('answers IdempotencyInProgressError with the time left on the lease while the first runs', async () => {
    const { policy, clock } = setup({ leaseMs: 3000 });
    const gate = deferred<string>();
    const first = policy.run('k', fp, () => gate.promise);
    await clock.advance(500);
    const error = await policy.run('k', fp, () => 'x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyInProgressError);
    expect((error as IdempotencyInProgressError).retryAfterMs).toBe(2500);
    gate.resolve('done');
    expect(await first).toBe('done');
  });

  it('lets one of many concurrent calls run and answers the others in progress', async () => {
    const { policy, clock } = setup();
    let calls = 0;
    const gate = deferred();
    const calls10 = Array.from({ length: 10 }, () =>
      policy.run('k', fp, async () => {
        calls++;
        await gate.promise;
        return 'ok';
      }),
    );
    const settled = Promise.allSettled(calls10);
    await clock.flush();
    gate.resolve();
    const results = await settled;
    expect(calls).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IdempotencyInProgressError);
    }
  });
});

describe('idempotency: execute', () => {
  it('runs fn(ctx) once per options.key', async () => {
    const { policy } = setup();
    let calls = 0;
    const fn = async () => ++calls;
    expect(await policy.execute(fn, { key: 'k' })).toBe(1);
    expect(await policy.execute(fn, { key: 'k' })).toBe(1);
    expect(await policy.execute(fn, { key: 'other' })).toBe(2);
  });

  it('rejects a call without a key with a TypeError, and claims nothing', async () => {
    const { policy, store } = setup();
    let calls = 0;
    await expect(policy.execute(() => ++calls)).rejects.toThrow(
      'idempotency.execute: a key is required: execute(fn, { key }), or run(key, fingerprint, fn)',
    );
    expect(calls).toBe(0);
    expect(store.size).toBe(0);
  });

  it('runs inside a pipeline, with the key flowing in', async () => {
    const { policy } = setup();
    const both = pipeline(noop, policy);
    let calls = 0;
    await both.execute(() => ++calls, { key: 'k' });
    expect(await both.execute(() => ++calls, { key: 'k' })).toBe(1);
  });

  it('puts the fencing token on the claimed event', async () => {
    const { policy, events } = setup();
    await policy.execute(() => 'ok', { key: 'k' });
    expect(events.find((e) => e.type === 'claimed')).toMatchObject({
      policy: 'idempotency',
      key: 'k',
      token: expect.any(Number),
      takeover: false,
    });
  });

  it('treats execute and run of one key as different requests (execute has no fingerprint)', async () => {
    const { policy } = setup();
    await policy.execute(() => 'ok', { key: 'k' });
    await expect(policy.run('k', fp, () => 'x')).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });
});

describe('idempotency: fencing tokens and leases', () => {
  it('passes fn the fencing token of its claim', async () => {
    const { policy, store, clock } = setup();
    const gate = deferred();
    let seen = 0;
    const call = policy.run('k', fp, async (_ctx, token) => {
      seen = token;
      await gate.promise;
    });
    await clock.flush();
    expect(seen).toBeGreaterThan(0);
    expect(store.get('k')?.token).toBe(seen);
    gate.resolve();
    await call;
  });

  it('renews the lease every leaseMs / 3 while fn runs, so a slow call keeps the key', async () => {
    const { policy, clock, types } = setup({ leaseMs: 3000 });
    const gate = deferred<string>();
    const slow = policy.run('k', fp, () => gate.promise);
    await clock.advance(10_000);
    expect(types().filter((t) => t === 'lease-renewed').length).toBeGreaterThanOrEqual(6);
    await expect(policy.run('k', fp, () => 'x')).rejects.toMatchObject({
      code: 'IDEMPOTENCY_IN_PROGRESS',
    });
    gate.resolve('slow');
    expect(await slow).toBe('slow');
  });

  it('leaves no timer behind once the call settles', async () => {
    const { policy, clock } = setup();
    const gate = deferred();
    const call = policy.run('k', fp, () => gate.promise);
    await clock.flush();
    expect(clock.pendingTimers).toBe(1);
    gate.resolve();
    await call;
    expect(clock.pendingTimers).toBe(0);
    await policy
      .run('k2', fp, () => {
        throw new Error('x');
      })
      .catch(() => {});
    expect(clock.pendingTimers).toBe(0);
  });

  it('shares one renewal timer between the calls that run at once', async () => {
    const { policy, clock } = setup();
    const gate = deferred();
    const calls = ['a', 'b', 'c'].map((k) => policy.run(k, fp, () => gate.promise));
    await clock.flush();
    expect(clock.pendingTimers).toBe(1);
    gate.resolve();
    await Promise.all(calls);
    expect(clock.pendingTimers).toBe(0);
  });

  it('takes over a lease that expired (a crashed owner) under a higher token', async () => {
    const { policy, store, clock, events } = setup({ leaseMs: 3000 });
    const crashed = store.claim('k', fp, 3000, 86_400_000);
    if (crashed.status !== 'claimed') throw new Error('not claimed');
    await expect(policy.run('k', fp, () => 'x')).rejects.toMatchObject({ retryAfterMs: 3000 });
    await clock.advance(3000);
    let token = 0;
    expect(
      await policy.run('k', fp, (_ctx, t) => {
        token = t;
        return 'recovered';
      }),
    ).toBe('recovered');
    expect(token).toBeGreaterThan(crashed.token);
    expect(events.find((e) => e.type === 'claimed')).toMatchObject({ takeover: true });
    expect(store.complete('k', crashed.token, 'vlate', 86_400_000)).toBe(false);
  });

  it('rejects a stale owner with IdempotencyLeaseLostError and keeps the newer result', async () => {
    const { policy, store, clock, types } = setup({ leaseMs: 3000 });
    const gate = deferred<string>();
    const stale = policy.run('k', fp, () => gate.promise);
    await clock.flush();
    const { token } = store.get('k')!;
    // The owner stalls past its lease (no renewal lands); another call takes the key over.
    store.delete('k');
    const newer = store.claim('k', fp, 3000, 86_400_000);
    if (newer.status !== 'claimed') throw new Error('not claimed');
    store.complete('k', newer.token, 'v"newer"', 86_400_000);
    gate.resolve('stale result');
    const error = await stale.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IdempotencyLeaseLostError);
    expect(error).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS', token });
    expect(types()).toContain('stale');
    expect(await policy.run('k', fp, () => 'x')).toBe('newer');
  });

  it('aborts fn’s signal with IdempotencyLeaseLostError when a renewal finds the lease lost', async () => {
    const { policy, store, clock, events } = setup({ leaseMs: 3000 });
    let signal: AbortSignal | undefined;
    const call = policy.run('k', fp, (ctx) => {
      signal = ctx.signal;
      return new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
      );
    });
    const settled = call.catch((e: unknown) => e);
    await clock.flush();
    store.delete('k');
    store.claim('k', fp, 3000, 86_400_000);
    await clock.advance(1000);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(IdempotencyLeaseLostError);
    expect(await settled).toBeInstanceOf(IdempotencyLeaseLostError);
    expect(events.find((e) => e.type === 'stale')).toMatchObject({ operation: 'renew' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps renewing after a renewal the store did not answer', async () => {
    const { clock, store: inner } = setup();
    let failRenew = true;
    const store = faultyStore(inner, {});
    const renew = store.renew.bind(store);
    store.renew = (...args) => (failRenew ? Promise.reject(new Error('blip')) : renew(...args));
    const policy = idempotency({ store, clock, leaseMs: 3000 });
    const events: string[] = [];
    policy.on((e) => events.push(e.type));
    const gate = deferred();
    const call = policy.run('k', fp, () => gate.promise);
    await clock.advance(1000);
    failRenew = false;
    await clock.advance(1000);
    expect(events).toContain('store-error');
    expect(events).toContain('lease-renewed');
    gate.resolve();
    await call;
  });
});

describe('idempotency: failures of fn', () => {
  it('releases the key when fn throws, so the call can be tried again', async () => {
    const { policy, store, events } = setup();
    await expect(
      policy.run('k', fp, () => Promise.reject(new Error('timeout talking to the bank'))),
    ).rejects.toThrow('timeout talking to the bank');
    expect(store.get('k')).toBeUndefined();
    expect(events.find((e) => e.type === 'released')).toMatchObject({ reason: 'error' });
    expect(await policy.run('k', fp, () => 'ok')).toBe('ok');
  });

  it('stores an error that storeError calls final and rethrows a copy on repeats', async () => {
    const declined = Object.assign(new Error('Your card was declined'), {
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      statusCode: 402,
      raw: { nested: true },
    });
    const { policy, types } = setup({
      storeError: (e) => (e as { code?: string }).code === 'card_declined',
    });
    await expect(policy.run('k', fp, () => Promise.reject(declined))).rejects.toBe(declined);
    let calls = 0;
    const replay = await policy
      .run('k', fp, () => {
        calls++;
      })
      .catch((e: unknown) => e);
    expect(calls).toBe(0);
    expect(replay).not.toBe(declined);
    expect(replay).toBeInstanceOf(Error);
    expect(replay).toMatchObject({
      name: 'Error',
      message: 'Your card was declined',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      statusCode: 402,
    });
    expect((replay as { raw?: unknown }).raw).toBeUndefined();
    expect(types()).toContain('replayed');
  });

  it('copies the code of a bulwark error it stores', async () => {
    const { policy } = setup({ storeError: () => true });
    await policy
      .run('k', fp, () => Promise.reject(new IdempotencyKeyReusedError()))
      .catch(() => {});
    const replay = await policy.run('k', fp, () => 'x').catch((e: unknown) => e);
    expect(replay).toMatchObject({
      name: 'IdempotencyKeyReusedError',
      code: 'IDEMPOTENCY_KEY_REUSED',
    });
  });

  it('stores a thrown non-Error as a final error too', async () => {
    const { policy } = setup({ storeError: () => true });
    await expect(policy.run('k', fp, () => Promise.reject('plain'))).rejects.toBe('plain');
    await expect(policy.run('k', fp, () => 'x')).rejects.toMatchObject({ message: 'plain' });
  });

  it('releases the key and rethrows when storeError itself throws', async () => {
    const bug = new Error('bug in storeError');
    const { policy, store } = setup({
      storeError: () => {
        throw bug;
      },
    });
    await expect(policy.run('k', fp, () => Promise.reject(new Error('x')))).rejects.toBe(bug);
    expect(store.get('k')).toBeUndefined();
  });
});

describe('idempotency: the caller cancels', () => {
  it('rejects with the reason and runs nothing when the signal aborted before the call', async () => {
    const { policy, store } = setup();
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    let calls = 0;
    await expect(policy.run('k', fp, () => ++calls, { signal: controller.signal })).rejects.toThrow(
      'gone',
    );
    expect(calls).toBe(0);
    expect(store.size).toBe(0);
  });

  it('releases the claim and skips fn when the caller aborts while the claim is made', async () => {
    const { clock, store: inner } = setup();
    const claimGate = deferred();
    const store = faultyStore(inner, {});
    const claim = store.claim.bind(store);
    store.claim = async (...args) => {
      await claimGate.promise;
      return claim(...args);
    };
    const policy = idempotency({ store, clock });
    const controller = new AbortController();
    let calls = 0;
    const call = policy.run('k', fp, () => ++calls, { signal: controller.signal });
    controller.abort(new Error('client went away'));
    await expect(call).rejects.toThrow('client went away');
    claimGate.resolve();
    await clock.flush();
    expect(calls).toBe(0);
    expect(inner.get('k')).toBeUndefined();
  });

  it('still records the result of fn when the caller stops waiting', async () => {
    const { policy, clock } = setup();
    const controller = new AbortController();
    const gate = deferred<string>();
    const call = policy.run('k', fp, () => gate.promise, { signal: controller.signal });
    await clock.flush();
    controller.abort(new Error('client went away'));
    await expect(call).rejects.toThrow('client went away');
    gate.resolve('charged');
    await clock.flush();
    expect(await policy.run('k', fp, () => 'again')).toBe('charged');
  });
});

describe('idempotency: the store fails', () => {
  it('rejects with StoreUnavailableError and does not run fn when the claim fails', async () => {
    const { clock, store: inner } = setup();
    const cause = new Error('ECONNREFUSED');
    const store = faultyStore(inner, { claim: () => Promise.reject(cause) });
    const policy = idempotency({ store, clock });
    let calls = 0;
    const error = await policy.run('k', fp, () => ++calls).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/failed to claim key "k": ECONNREFUSED/);
    expect((error as Error).cause).toBe(cause);
    expect(calls).toBe(0);
  });

  it('passes a StoreUnavailableError from the store through as it is', async () => {
    const { clock, store: inner } = setup();
    const unavailable = new StoreUnavailableError('redis did not answer within 1000 ms');
    const store = faultyStore(inner, {
      claim: () => {
        throw unavailable;
      },
    });
    const policy = idempotency({ store, clock });
    await expect(policy.run('k', fp, () => 1)).rejects.toBe(unavailable);
  });

  it('rejects with StoreUnavailableError when the result cannot be recorded, and keeps the claim', async () => {
    const { clock, store: inner } = setup();
    const store = faultyStore(inner, { complete: () => Promise.reject(new Error('down')) });
    const policy = idempotency({ store, clock });
    const events: string[] = [];
    policy.on((e) => events.push(e.type));
    await expect(policy.run('k', fp, () => 'charged')).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    expect(events).toContain('store-error');
    // The key stays in progress until its lease ends: a quick retry does not charge again.
    expect(inner.get('k')?.state).toBe('in-progress');
  });

  it('rethrows the error of fn when the release fails', async () => {
    const { clock, store: inner } = setup();
    const store = faultyStore(inner, { release: () => Promise.reject(new Error('down')) });
    const policy = idempotency({ store, clock });
    await expect(policy.run('k', fp, () => Promise.reject(new Error('fn failed')))).rejects.toThrow(
      'fn failed',
    );
  });
});

describe('idempotency: bad input', () => {
  it('rejects empty, over-long and non-string keys before claiming anything', async () => {
    const { policy, store } = setup();
    let calls = 0;
    const fn = () => ++calls;
    await expect(policy.run('', fp, fn)).rejects.toThrow(
      new RangeError('idempotency.run: the idempotency key must have 1 to 255 characters, got 0'),
    );
    await expect(policy.run('x'.repeat(256), fp, fn)).rejects.toThrow(RangeError);
    await expect(policy.run(42 as unknown as string, fp, fn)).rejects.toThrow(
      new TypeError('idempotency.run: the idempotency key must be a string, got number'),
    );
    await expect(policy.execute(fn, { key: '' })).rejects.toThrow(RangeError);
    expect(await policy.run('x'.repeat(255), fp, fn)).toBe(1);
    expect(calls).toBe(1);
    expect(store.size).toBe(1);
  });

  it('rejects a missing fingerprint or fn', async () => {
    const { policy, store } = setup();
    await expect(policy.run('k', undefined as unknown as string, () => 1)).rejects.toThrow(
      /fingerprint must be a string \(e\.g\. fingerprint\(payload\)\), got undefined/,
    );
    await expect(policy.run('k', '', () => 1)).rejects.toThrow(RangeError);
    await expect(policy.run('k', fp, undefined as never)).rejects.toThrow(
      'idempotency.run: fn must be a function, got undefined',
    );
    expect(store.size).toBe(0);
  });

  it.each([
    ['a function', () => ({ callback: () => 1 }), /a function cannot be stored/],
    [
      'a cycle',
      () => {
        const a: Record<string, unknown> = {};
        a.a = a;
        return a;
      },
      /circular/,
    ],
    ['a BigInt', () => ({ amount: 10n }), /BigInt cannot be stored as JSON; pass a serializer/],
    ['a symbol', () => Symbol('s'), /a symbol cannot be stored/],
  ])(
    'rejects a result with %s with a TypeError after fn ran, and releases the key',
    async (_, make, reason) => {
      const { policy, store, events } = setup();
      let calls = 0;
      const error = await policy
        .run('k', fp, () => {
          calls++;
          return make();
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/the result of fn for key "k" cannot be stored/);
      expect((error as Error).message).toMatch(/fn ran, and the key was released/);
      expect((error as Error).message).toMatch(reason);
      expect(calls).toBe(1);
      expect(store.get('k')).toBeUndefined();
      expect(events.find((e) => e.type === 'released')).toMatchObject({ reason: 'unserializable' });
    },
  );

  it('stores what a custom serializer can', async () => {
    const bigints = {
      serialize: (v: unknown) =>
        JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? { $big: x.toString() } : x)),
      deserialize: (t: string) =>
        JSON.parse(t, (_k, x) => (x && typeof x === 'object' && '$big' in x ? BigInt(x.$big) : x)),
    };
    const { policy } = setup({ serializer: bigints });
    expect(await policy.run('k', fp, () => ({ amount: 10n }))).toEqual({ amount: 10n });
    expect(await policy.run('k', fp, () => ({ amount: 0n }))).toEqual({ amount: 10n });
  });
});

describe('idempotency options', () => {
  it('has the documented defaults', () => {
    const policy = idempotency();
    expect(policy.ttlMs).toBe(86_400_000);
    expect(policy.leaseMs).toBe(60_000);
  });

  it('rejects ttlMs shorter than leaseMs', () => {
    expect(() => idempotency({ ttlMs: 1000, leaseMs: 2000 })).toThrow(
      new RangeError(
        'idempotency: ttlMs must be >= leaseMs (a record must outlive its lease), got ttlMs 1000 and leaseMs 2000',
      ),
    );
  });

  it('rejects bad values naming the option', () => {
    expect(() => idempotency({ ttlMs: 0 })).toThrow(
      'idempotency: ttlMs must be an integer >= 1, got 0',
    );
    expect(() => idempotency({ leaseMs: 1.5 })).toThrow(RangeError);
    expect(() => idempotency({ storeError: 'yes' as never })).toThrow(
      'idempotency: storeError must be a function, got "yes"',
    );
    expect(() => idempotency({ store: {} as never })).toThrow(/store must be an idempotency store/);
    expect(() => idempotency({ serializer: JSON as never })).toThrow(
      /serializer must be an object/,
    );
    expect(() => idempotency({ clock: Date as never })).toThrow(TypeError);
    expect(() => idempotency({ ttl: 5 } as never)).toThrow(
      'idempotency: unknown option "ttl"; expected one of store, ttlMs, leaseMs, clock, storeError, serializer',
    );
  });

  it('exports the strict JSON serializer', () => {
    expect(jsonSerializer.deserialize(jsonSerializer.serialize({ a: [1] }))).toEqual({ a: [1] });
    expect(isResilienceError(new IdempotencyLeaseLostError(), 'IDEMPOTENCY_IN_PROGRESS')).toBe(
      true,
    );
  });
});
