/**
 * The behaviour every IdempotencyStore must have, as one suite: the memory store runs it on a
 * manual clock, the Redis and PostgreSQL stores (root test/) for real. Exported for reuse by
 * anyone writing a store.
 */
import { randomUUID } from 'node:crypto';
import { type Clock, isResilienceError } from '@bulwark/core';
import { deferred, manualClock } from '@bulwark/core/testing';
import {
  type ClaimResult,
  fingerprint,
  IdempotencyLeaseLostError,
  type IdempotencyStore,
  idempotency,
} from '@bulwark/idempotency';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export interface StoreHarness {
  store: IdempotencyStore;
  /** The clock policies over this store use: manual for memory, real time otherwise. */
  clock: Clock;
  /** Moves the store's clock (and `clock`) forward by at least `ms`. */
  wait(ms: number): Promise<void>;
  /** A lease short enough to wait out in a test. */
  shortLeaseMs: number;
  /** A lease no step of a test outlasts, however loaded the machine. */
  longLeaseMs: number;
  /**
   * A lease no stall between two steps outlasts, short enough to wait out once: the renewal test
   * (renewed every third of it) and the takeover of a crashed owner use it.
   */
  renewedLeaseMs: number;
  /**
   * The same records through other clients (other connections, pools or processes' stores):
   * the concurrency tests spread their claims over `store` and these. None for a memory store.
   */
  peers?: readonly IdempotencyStore[];
  close?(): Promise<void> | void;
}

const DAY = 86_400_000;

type Claimed = Extract<ClaimResult, { status: 'claimed' }>;

export function describeStoreContract(
  name: string,
  open: () => StoreHarness | Promise<StoreHarness>,
): void {
  describe(`${name}: idempotency store contract`, () => {
    let h: StoreHarness;
    let store: IdempotencyStore;
    let LONG: number;
    let SHORT: number;
    const key = () => `contract-${randomUUID()}`;

    beforeAll(async () => {
      h = await open();
      store = h.store;
      LONG = h.longLeaseMs;
      SHORT = h.shortLeaseMs;
    });
    afterAll(async () => {
      await h?.close?.();
    });

    describe('store operations', () => {
      it('claims a new key with a positive integer token', async () => {
        const claim = await store.claim(key(), 'fp', LONG, DAY);
        expect(claim).toEqual({ status: 'claimed', token: expect.any(Number), takeover: false });
        if (claim.status !== 'claimed') return;
        expect(Number.isSafeInteger(claim.token) && claim.token > 0).toBe(true);
      });

      it('reports a live claim as in progress with the time left on its lease', async () => {
        const k = key();
        await store.claim(k, 'fp', LONG, DAY);
        const again = await store.claim(k, 'fp', LONG, DAY);
        expect(again.status).toBe('in-progress');
        if (again.status !== 'in-progress') return;
        expect(again.retryAfterMs).toBeGreaterThan(0);
        expect(again.retryAfterMs).toBeLessThanOrEqual(LONG);
      });

      it('reports another fingerprint on a live claim as a mismatch', async () => {
        const k = key();
        await store.claim(k, 'fp', LONG, DAY);
        expect(await store.claim(k, 'other', LONG, DAY)).toEqual({ status: 'mismatch' });
      });

      it('replays a completed key to the same fingerprint only', async () => {
        const k = key();
        const claim = await store.claim(k, 'fp', LONG, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        expect(await store.complete(k, claim.token, 'v{"ok":1}', DAY)).toBe(true);
        expect(await store.claim(k, 'fp', LONG, DAY)).toEqual({
          status: 'completed',
          result: 'v{"ok":1}',
        });
        expect(await store.claim(k, 'other', LONG, DAY)).toEqual({ status: 'mismatch' });
      });

      it('refuses to complete, renew or release with a token that is not the current one', async () => {
        const k = key();
        const claim = await store.claim(k, 'fp', LONG, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        const wrong = claim.token + 1;
        expect(await store.complete(k, wrong, 'v1', DAY)).toBe(false);
        expect(await store.renew(k, wrong, LONG, DAY)).toBe(false);
        expect(await store.release(k, wrong)).toBe(false);
        expect((await store.get(k))?.state).toBe('in-progress');
      });

      it('refuses to complete a key twice', async () => {
        const k = key();
        const claim = await store.claim(k, 'fp', LONG, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        expect(await store.complete(k, claim.token, 'v1', DAY)).toBe(true);
        expect(await store.complete(k, claim.token, 'v2', DAY)).toBe(false);
        expect(await store.renew(k, claim.token, LONG, DAY)).toBe(false);
        expect(await store.release(k, claim.token)).toBe(false);
        expect((await store.get(k))?.result).toBe('v1');
      });

      it('frees a released key for the next claim, under a higher token', async () => {
        const k = key();
        const first = await store.claim(k, 'fp', LONG, DAY);
        if (first.status !== 'claimed') throw new Error('not claimed');
        expect(await store.release(k, first.token)).toBe(true);
        expect(await store.get(k)).toBeUndefined();
        const second = await store.claim(k, 'other', LONG, DAY);
        expect(second.status).toBe('claimed');
        if (second.status !== 'claimed') return;
        expect(second.token).toBeGreaterThan(first.token);
      });

      it('renews a lease: it runs from the renewal', async () => {
        const k = key();
        const claim = await store.claim(k, 'fp', SHORT, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        expect(await store.renew(k, claim.token, LONG, DAY)).toBe(true);
        const record = await store.get(k);
        expect(record?.leaseRemainingMs).toBeGreaterThan(SHORT);
      });

      it('lets an expired lease be taken over by the same fingerprint under a higher token', async () => {
        const k = key();
        const first = await store.claim(k, 'fp', SHORT, DAY);
        if (first.status !== 'claimed') throw new Error('not claimed');
        await h.wait(SHORT + 50);
        const second = await store.claim(k, 'fp', LONG, DAY);
        expect(second).toEqual({ status: 'claimed', token: expect.any(Number), takeover: true });
        if (second.status !== 'claimed') return;
        expect(second.token).toBeGreaterThan(first.token);
        // Fenced: the first owner's late operations are refused; the new owner's go through.
        expect(await store.complete(k, first.token, 'vlate', DAY)).toBe(false);
        expect(await store.renew(k, first.token, LONG, DAY)).toBe(false);
        expect(await store.release(k, first.token)).toBe(false);
        expect(await store.complete(k, second.token, 'vnew', DAY)).toBe(true);
        expect(await store.claim(k, 'fp', LONG, DAY)).toEqual({
          status: 'completed',
          result: 'vnew',
        });
      });

      it('keeps an expired lease bound to its fingerprint', async () => {
        const k = key();
        await store.claim(k, 'fp', SHORT, DAY);
        await h.wait(SHORT + 50);
        expect(await store.claim(k, 'other', LONG, DAY)).toEqual({ status: 'mismatch' });
      });

      it('lets the owner of an expired lease complete while nobody took over', async () => {
        const k = key();
        const claim = await store.claim(k, 'fp', SHORT, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        await h.wait(SHORT + 50);
        expect(await store.complete(k, claim.token, 'v1', DAY)).toBe(true);
      });

      it('forgets a completed key ttlMs after completion', async () => {
        const k = key();
        const first = await store.claim(k, 'fp', SHORT, SHORT);
        if (first.status !== 'claimed') throw new Error('not claimed');
        await store.complete(k, first.token, 'v1', SHORT);
        expect((await store.get(k))?.expiresInMs ?? 0).toBeLessThanOrEqual(SHORT);
        await h.wait(SHORT + 50);
        expect(await store.get(k)).toBeUndefined();
        const second = await store.claim(k, 'other', LONG, DAY);
        expect(second.status).toBe('claimed');
        if (second.status !== 'claimed') return;
        expect(second.token).toBeGreaterThan(first.token);
      });

      it('shows a record with get', async () => {
        const k = key();
        expect(await store.get(k)).toBeUndefined();
        const claim = await store.claim(k, 'fp', LONG, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        const running = await store.get(k);
        expect(running).toMatchObject({
          state: 'in-progress',
          fingerprint: 'fp',
          token: claim.token,
          result: undefined,
        });
        expect(running?.leaseRemainingMs).toBeGreaterThan(0);
        expect(running?.leaseRemainingMs).toBeLessThanOrEqual(LONG);
        expect(running?.expiresInMs).toBeGreaterThan(LONG);
        await store.complete(k, claim.token, 'vdone', DAY);
        const done = await store.get(k);
        expect(done).toMatchObject({
          state: 'completed',
          fingerprint: 'fp',
          token: claim.token,
          leaseRemainingMs: undefined,
          result: 'vdone',
        });
        expect(done?.expiresInMs).toBeGreaterThan(DAY - 60_000);
        expect(done?.expiresInMs).toBeLessThanOrEqual(DAY);
      });

      it('forgets a key on delete', async () => {
        const k = key();
        const claim = await store.claim(k, 'fp', LONG, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        await store.complete(k, claim.token, 'v1', DAY);
        await store.delete(k);
        expect(await store.get(k)).toBeUndefined();
        expect((await store.claim(k, 'other', LONG, DAY)).status).toBe('claimed');
      });

      it('keeps keys with any characters apart', async () => {
        const base = key();
        const keys = [
          `${base}{tag}`,
          `${base}{tag`,
          `${base}}`,
          `${base}:a b\n\t"'\\%_*?[]`,
          `${base}✓ ключ 鍵 🔑`,
          `${base}${'x'.repeat(200)}`,
        ];
        for (const [i, k] of keys.entries()) {
          const claim = await store.claim(k, `fp${i}`, LONG, DAY);
          if (claim.status !== 'claimed') throw new Error(`not claimed: ${k}`);
          await store.complete(k, claim.token, `v${i}`, DAY);
        }
        for (const [i, k] of keys.entries()) {
          expect(await store.claim(k, `fp${i}`, LONG, DAY)).toEqual({
            status: 'completed',
            result: `v${i}`,
          });
        }
      });

      it('stores results exactly, unicode and large ones too', async () => {
        const k = key();
        const result = `v${JSON.stringify({ text: 'é✓🔑\u0000\n', big: 'y'.repeat(200_000) })}`;
        const claim = await store.claim(k, 'fp', LONG, DAY);
        if (claim.status !== 'claimed') throw new Error('not claimed');
        await store.complete(k, claim.token, result, DAY);
        const replay = await store.claim(k, 'fp', LONG, DAY);
        expect(replay.status === 'completed' && replay.result === result).toBe(true);
      });
    });

    describe('claims racing for one key', () => {
      const RACERS = 24;
      // Round-robin over every client of the store: the race crosses connections.
      const racers = () => {
        const all = [store, ...(h.peers ?? [])];
        return Array.from({ length: RACERS }, (_, i) => all[i % all.length]!);
      };

      it('gives the key to exactly one of many concurrent claims from several clients', async () => {
        const k = key();
        const claims = await Promise.all(racers().map((s) => s.claim(k, 'fp', LONG, DAY)));
        const won = claims.filter((c): c is Claimed => c.status === 'claimed');
        expect(won).toHaveLength(1);
        expect(claims.filter((c) => c.status === 'in-progress')).toHaveLength(RACERS - 1);
        expect((await store.get(k))?.token).toBe(won[0]?.token);
      });

      it('gives the key to exactly one claim when the racers bring different fingerprints', async () => {
        const k = key();
        const fps = racers().map((_, i) => `fp${i % 3}`);
        const claims = await Promise.all(racers().map((s, i) => s.claim(k, fps[i]!, LONG, DAY)));
        const winner = claims.findIndex((c) => c.status === 'claimed');
        expect(claims.filter((c) => c.status === 'claimed')).toHaveLength(1);
        for (const [i, claim] of claims.entries()) {
          if (i === winner) continue;
          expect(claim.status).toBe(fps[i] === fps[winner] ? 'in-progress' : 'mismatch');
        }
      });

      it('gives an expired lease to exactly one of many concurrent takeovers, under a higher token', async () => {
        const k = key();
        const crashed = await store.claim(k, 'fp', SHORT, DAY);
        if (crashed.status !== 'claimed') throw new Error('not claimed');
        await h.wait(SHORT + 50);
        const claims = await Promise.all(racers().map((s) => s.claim(k, 'fp', LONG, DAY)));
        const won = claims.filter((c): c is Claimed => c.status === 'claimed');
        expect(won).toEqual([{ status: 'claimed', token: expect.any(Number), takeover: true }]);
        expect(won[0]?.token).toBeGreaterThan(crashed.token);
        expect(claims.filter((c) => c.status === 'in-progress')).toHaveLength(RACERS - 1);
        expect(await store.complete(k, crashed.token, 'vlate', DAY)).toBe(false);
      });

      it('fences a released owner out of the next claim of the key', async () => {
        const k = key();
        const first = await store.claim(k, 'fp', LONG, DAY);
        if (first.status !== 'claimed') throw new Error('not claimed');
        expect(await store.release(k, first.token)).toBe(true);
        const peer = h.peers?.[0] ?? store;
        const second = await peer.claim(k, 'fp', LONG, DAY);
        if (second.status !== 'claimed') throw new Error('not claimed');
        expect(second.token).toBeGreaterThan(first.token);
        expect(await store.complete(k, first.token, 'vstale', DAY)).toBe(false);
        expect(await store.renew(k, first.token, LONG, DAY)).toBe(false);
        expect(await store.release(k, first.token)).toBe(false);
        expect((await store.get(k))?.token).toBe(second.token);
        expect(await peer.complete(k, second.token, 'vnew', DAY)).toBe(true);
        expect(await store.claim(k, 'fp', LONG, DAY)).toEqual({
          status: 'completed',
          result: 'vnew',
        });
      });

      it('completes a key once when its owner and a stale owner complete at the same moment', async () => {
        const k = key();
        const stale = await store.claim(k, 'fp', SHORT, DAY);
        if (stale.status !== 'claimed') throw new Error('not claimed');
        await h.wait(SHORT + 50);
        const owner = await store.claim(k, 'fp', LONG, DAY);
        if (owner.status !== 'claimed') throw new Error('not claimed');
        const peer = h.peers?.[0] ?? store;
        const [late, done] = await Promise.all([
          peer.complete(k, stale.token, 'vstale', DAY),
          store.complete(k, owner.token, 'vowner', DAY),
        ]);
        expect([late, done]).toEqual([false, true]);
        expect((await store.get(k))?.result).toBe('vowner');
      });
    });

    describe('the idempotency policy over this store', () => {
      const policy = (leaseMs = LONG, extra: { storeError?: (e: unknown) => boolean } = {}) =>
        idempotency({ store, clock: h.clock, leaseMs, ...extra });

      it('runs fn once and gives every repeat a copy of its result', async () => {
        const p = policy();
        const k = key();
        let calls = 0;
        const fn = async () => {
          calls++;
          return { id: 'ch_1', amount: 100, tags: ['a'] };
        };
        const first = await p.run(k, fingerprint({ amount: 100 }), fn);
        const second = await p.run(k, fingerprint({ amount: 100 }), fn);
        expect(calls).toBe(1);
        expect(second).toEqual({ id: 'ch_1', amount: 100, tags: ['a'] });
        expect(second).not.toBe(first);
      });

      it('answers IdempotencyInProgressError while the first call runs', async () => {
        const p = policy();
        const k = key();
        const gate = deferred();
        const first = p.run(k, 'fp', () => gate.promise.then(() => 'done'));
        await until(async () => (await store.get(k)) !== undefined);
        const error = await p.run(k, 'fp', () => 'never').catch((e: unknown) => e);
        expect(isResilienceError(error, 'IDEMPOTENCY_IN_PROGRESS')).toBe(true);
        expect((error as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
        expect((error as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(LONG);
        gate.resolve();
        await expect(first).resolves.toBe('done');
        await expect(p.run(k, 'fp', () => 'again')).resolves.toBe('done');
      });

      it('answers IdempotencyKeyReusedError to another fingerprint', async () => {
        const p = policy();
        const k = key();
        await p.run(k, fingerprint({ amount: 100 }), () => 'charged');
        const error = await p
          .run(k, fingerprint({ amount: 200 }), () => 'never')
          .catch((e: unknown) => e);
        expect(isResilienceError(error, 'IDEMPOTENCY_KEY_REUSED')).toBe(true);
      });

      it('releases the key when fn throws, so the call can be tried again', async () => {
        const p = policy();
        const k = key();
        await expect(
          p.run(k, 'fp', () => {
            throw new Error('gateway down');
          }),
        ).rejects.toThrow('gateway down');
        expect(await store.get(k)).toBeUndefined();
        await expect(p.run(k, 'fp', () => 'ok')).resolves.toBe('ok');
      });

      it('stores a final error and rethrows a faithful copy to repeats', async () => {
        const p = policy(LONG, { storeError: (e) => (e as { code?: string }).code === 'DECLINED' });
        const k = key();
        const declined = Object.assign(new TypeError('card declined'), {
          code: 'DECLINED',
          status: 402,
        });
        await expect(
          p.run(k, 'fp', () => {
            throw declined;
          }),
        ).rejects.toBe(declined);
        let calls = 0;
        const replay = await p
          .run(k, 'fp', () => {
            calls++;
            return 'never';
          })
          .catch((e: unknown) => e);
        expect(calls).toBe(0);
        expect(replay).toBeInstanceOf(Error);
        expect(replay).not.toBe(declined);
        expect(replay).toMatchObject({
          name: 'TypeError',
          message: 'card declined',
          code: 'DECLINED',
          status: 402,
        });
      });

      it('passes fn a fencing token that grows when a crashed owner is taken over', async () => {
        // Long enough that the lease cannot end between the claim and the first call.
        const lease = h.renewedLeaseMs;
        const p = policy(lease);
        const k = key();
        const crashed = await store.claim(k, 'fp', lease, DAY);
        if (crashed.status !== 'claimed') throw new Error('not claimed');
        await expect(p.run(k, 'fp', () => 'early')).rejects.toMatchObject({
          code: 'IDEMPOTENCY_IN_PROGRESS',
        });
        await h.wait(lease + 50);
        let seen = 0;
        await expect(
          p.run(k, 'fp', (_ctx, token) => {
            seen = token;
            return 'recovered';
          }),
        ).resolves.toBe('recovered');
        expect(seen).toBeGreaterThan(crashed.token);
        expect(await store.complete(k, crashed.token, 'vlate', DAY)).toBe(false);
        await expect(p.run(k, 'fp', () => 'never')).resolves.toBe('recovered');
      });

      it('refuses the late completion of an owner whose lease was taken over', async () => {
        // This owner's clock never moves, so it never renews: like a process stalled in GC.
        const stalled = idempotency({ store, clock: manualClock(), leaseMs: SHORT });
        const p = policy();
        const k = key();
        const gate = deferred();
        const late = stalled.run(k, 'fp', () => gate.promise.then(() => 'late'));
        await until(async () => (await store.get(k)) !== undefined);
        await h.wait(SHORT + 50);
        await expect(p.run(k, 'fp', () => 'winner')).resolves.toBe('winner');
        gate.resolve();
        const error = await late.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(IdempotencyLeaseLostError);
        expect(isResilienceError(error, 'IDEMPOTENCY_IN_PROGRESS')).toBe(true);
        await expect(p.run(k, 'fp', () => 'never')).resolves.toBe('winner');
      });

      it('renews the lease while fn runs, so a slow call is not taken over', async () => {
        const p = policy(h.renewedLeaseMs);
        const k = key();
        const gate = deferred();
        const slow = p.run(k, 'fp', () => gate.promise.then(() => 'slow'));
        await until(async () => (await store.get(k)) !== undefined);
        const { token } = (await store.get(k))!;
        await h.wait(h.renewedLeaseMs * 2.5);
        await expect(p.run(k, 'fp', () => 'never')).rejects.toMatchObject({
          code: 'IDEMPOTENCY_IN_PROGRESS',
        });
        expect((await store.get(k))?.token).toBe(token);
        gate.resolve();
        await expect(slow).resolves.toBe('slow');
      });
    });
  });
}

/** Polls `check` until it holds: the claim of a call started without awaiting has landed. */
export async function until(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('until: timed out');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
