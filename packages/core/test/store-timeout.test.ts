import {
  describeError,
  StoreTimeout,
  StoreUnavailableError,
  withStoreTimeout,
} from '@bulwark/core';
import { deferred, manualClock, track } from '@bulwark/core/testing';
import { describe, expect, it } from 'vitest';

describe('StoreTimeout', () => {
  it('bounds many operations in flight with one timer', async () => {
    const clock = manualClock();
    const timeout = new StoreTimeout(clock, 100);
    const calls = Array.from({ length: 50 }, () =>
      track(timeout.bound(deferred().promise, 'store: get')),
    );
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(100);
    expect(calls.every((c) => c.state === 'rejected')).toBe(true);
  });

  it('rejects at the deadline with StoreUnavailableError naming the operation and timeoutMs', async () => {
    const clock = manualClock();
    const call = track(new StoreTimeout(clock, 100).bound(deferred().promise, 'store: get'));
    await clock.advance(99);
    expect(call.state).toBe('pending');
    await clock.advance(1);
    expect(call.error).toBeInstanceOf(StoreUnavailableError);
    expect((call.error as Error).message).toBe('store: get did not answer within 100 ms');
  });

  it('gives each operation its own deadline, timeoutMs after it started', async () => {
    const clock = manualClock();
    const timeout = new StoreTimeout(clock, 100);
    const first = track(timeout.bound(deferred().promise, 'first'));
    await clock.advance(60);
    const second = track(timeout.bound(deferred().promise, 'second'));
    await clock.advance(40);
    expect([first.state, second.state]).toEqual(['rejected', 'pending']);
    await clock.advance(59);
    expect(second.state).toBe('pending');
    await clock.advance(1);
    expect(second.state).toBe('rejected');
  });

  it('settles as the operation does when it answers in time', async () => {
    const clock = manualClock();
    const timeout = new StoreTimeout(clock, 100);
    const ok = deferred<string>();
    const bad = deferred<string>();
    const okCall = timeout.bound(ok.promise, 'ok');
    const badCall = timeout.bound(bad.promise, 'bad');
    const error = new Error('WRONGTYPE');
    ok.resolve('value');
    bad.reject(error);
    await expect(okCall).resolves.toBe('value');
    await expect(badCall).rejects.toBe(error);
  });

  it('leaves no timer once every operation has settled, early or at its deadline', async () => {
    const clock = manualClock();
    const timeout = new StoreTimeout(clock, 100);
    const answers = Array.from({ length: 3 }, () => deferred<number>());
    const calls = answers.map((a) => timeout.bound(a.promise, 'op'));
    for (const [i, a] of answers.entries()) a.resolve(i);
    await Promise.all(calls);
    expect(clock.pendingTimers).toBe(0);

    const late = track(timeout.bound(deferred().promise, 'late'));
    await clock.advance(30);
    const later = track(timeout.bound(deferred().promise, 'later'));
    await clock.advance(200);
    expect([late.state, later.state]).toEqual(['rejected', 'rejected']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps one timer for the oldest operation still waiting when those before it settled', async () => {
    const clock = manualClock();
    const timeout = new StoreTimeout(clock, 100);
    const first = deferred<string>();
    void timeout.bound(first.promise, 'first');
    await clock.advance(50);
    const second = track(timeout.bound(deferred().promise, 'second'));
    first.resolve('done');
    await clock.flush();
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(99);
    expect(second.state).toBe('pending');
    await clock.advance(1);
    expect(second.state).toBe('rejected');
    expect(clock.pendingTimers).toBe(0);
  });

  it('hands an answer that came after the deadline to onLate, and only such an answer', async () => {
    const clock = manualClock();
    const timeout = new StoreTimeout(clock, 100);
    const seen: string[] = [];
    const onLate = (value: string) => seen.push(value);
    const onTime = deferred<string>();
    const late = deferred<string>();
    const onTimeCall = timeout.bound(onTime.promise, 'on time', onLate);
    const lateCall = track(timeout.bound(late.promise, 'late', onLate));
    onTime.resolve('claimed in time');
    await expect(onTimeCall).resolves.toBe('claimed in time');
    await clock.advance(100);
    expect(lateCall.error).toBeInstanceOf(StoreUnavailableError);
    late.resolve('claimed late');
    await clock.flush();
    expect(seen).toEqual(['claimed late']);
    expect(lateCall.state).toBe('rejected');
  });

  it('guard turns other failures into StoreUnavailableError with the failure as cause', async () => {
    const timeout = new StoreTimeout(manualClock(), 100);
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    const error = await timeout
      .guard(Promise.reject(refused), 'store: claim')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      'store: claim failed: connect ECONNREFUSED 127.0.0.1:6379',
    );
    expect((error as Error).cause).toBe(refused);
  });

  it('guard passes a StoreUnavailableError on as it is', async () => {
    const timeout = new StoreTimeout(manualClock(), 100);
    const unavailable = new StoreUnavailableError('pool exhausted');
    await expect(timeout.guard(Promise.reject(unavailable), 'store: get')).rejects.toBe(
      unavailable,
    );
  });

  it('guard times out like bound', async () => {
    const clock = manualClock();
    const call = track(new StoreTimeout(clock, 100).guard(deferred().promise, 'store: get'));
    await clock.advance(100);
    expect((call.error as Error).message).toBe('store: get did not answer within 100 ms');
  });

  it('withStoreTimeout bounds one operation on the clock it is given', async () => {
    const clock = manualClock();
    const call = track(withStoreTimeout(deferred().promise, 50, 'pg: claim', undefined, clock));
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(50);
    expect(call.error).toBeInstanceOf(StoreUnavailableError);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('describeError', () => {
  it('names the first cause of a message-less AggregateError (a host with two addresses)', () => {
    const error = new AggregateError([new Error('connect ECONNREFUSED ::1:6379')], '');
    expect(describeError(error)).toBe('connect ECONNREFUSED ::1:6379');
  });

  it('falls back to the name of a message-less error, and to String for a non-error', () => {
    expect(describeError(new TypeError())).toBe('TypeError');
    expect(describeError('down')).toBe('down');
  });
});
