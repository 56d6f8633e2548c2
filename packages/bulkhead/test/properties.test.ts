import { bulkhead } from '@bulwark/bulkhead';
import { BulkheadRejectedError } from '@bulwark/core';
import { manualClock } from '@bulwark/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Deferred, deferred, type Tracked, track } from './helpers.js';

type Op =
  | { type: 'call'; abortable: boolean }
  | { type: 'finish'; pick: number; fail: boolean }
  | { type: 'abort'; pick: number }
  | { type: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({ type: fc.constant('call' as const), abortable: fc.boolean() }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      type: fc.constant('finish' as const),
      pick: fc.nat(),
      fail: fc.boolean(),
    }),
    weight: 3,
  },
  { arbitrary: fc.record({ type: fc.constant('abort' as const), pick: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({
      type: fc.constant('advance' as const),
      ms: fc.integer({ min: 1, max: 40 }),
    }),
    weight: 1,
  },
);

interface Call {
  id: number;
  work: Deferred<number>;
  controller: AbortController | undefined;
  outcome: Tracked<number>;
}

describe('bulkhead properties', () => {
  it('never runs more than maxConcurrent nor queues more than maxQueue, and starts every admitted call in arrival order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 5 }),
        fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
        fc.array(op, { maxLength: 60 }),
        async (maxConcurrent, maxQueue, queueTimeoutMs, ops) => {
          const clock = manualClock();
          const policy = bulkhead({
            maxConcurrent,
            maxQueue,
            queueTimeoutMs: maxQueue > 0 ? queueTimeoutMs : undefined,
            clock,
          });
          const started: number[] = [];
          const calls: Call[] = [];
          // The model: what runs, and what waits (with when it started waiting).
          const running: Call[] = [];
          const waiting: Array<{ call: Call; since: number }> = [];
          const admitted: number[] = [];
          const leftQueue = new Set<number>();

          const check = () => {
            expect(policy.executing).toBeLessThanOrEqual(maxConcurrent);
            expect(policy.queued).toBeLessThanOrEqual(maxQueue);
            expect(policy.executing).toBe(running.length);
            expect(policy.queued).toBe(waiting.length);
            expect(started).toEqual(
              admitted.filter((id) => !leftQueue.has(id)).slice(0, started.length),
            );
          };
          const promote = () => {
            while (running.length < maxConcurrent && waiting.length > 0) {
              running.push(waiting.shift()!.call);
            }
          };

          for (const o of ops) {
            if (o.type === 'call') {
              const id = calls.length;
              const work = deferred<number>();
              const controller = o.abortable ? new AbortController() : undefined;
              const outcome = track(
                policy.execute(
                  () => {
                    started.push(id);
                    return work.promise;
                  },
                  { signal: controller?.signal },
                ),
              );
              const call = { id, work, controller, outcome };
              calls.push(call);
              if (running.length < maxConcurrent) {
                running.push(call);
                admitted.push(id);
              } else if (waiting.length < maxQueue) {
                waiting.push({ call, since: clock.now() });
                admitted.push(id);
              }
              await clock.flush();
              if (!admitted.includes(id))
                expect(outcome.error).toBeInstanceOf(BulkheadRejectedError);
            } else if (o.type === 'finish' && running.length > 0) {
              const [call] = running.splice(o.pick % running.length, 1);
              if (o.fail) call!.work.reject(new Error('failed'));
              else call!.work.resolve(call!.id);
              promote();
              await clock.flush();
            } else if (o.type === 'abort') {
              const queued = waiting.filter((w) => w.call.controller !== undefined);
              if (queued.length === 0) continue;
              const target = queued[o.pick % queued.length]!;
              target.call.controller!.abort(new Error(`abort ${target.call.id}`));
              waiting.splice(waiting.indexOf(target), 1);
              leftQueue.add(target.call.id);
              expect(policy.queued).toBe(waiting.length); // at once, not on a later tick
              await clock.flush();
              expect(target.call.outcome.error).toEqual(new Error(`abort ${target.call.id}`));
            } else if (o.type === 'advance') {
              await clock.advance(o.ms);
              if (policy.queueTimeoutMs !== undefined) {
                const limit = policy.queueTimeoutMs;
                for (const w of [...waiting]) {
                  if (w.since + limit <= clock.now()) {
                    waiting.splice(waiting.indexOf(w), 1);
                    leftQueue.add(w.call.id);
                    expect(w.call.outcome.error).toBeInstanceOf(BulkheadRejectedError);
                  }
                }
              }
            }
            check();
          }

          // Drain: every admitted call that did not leave the queue runs, in arrival order.
          while (running.length > 0) {
            const call = running.shift()!;
            call.work.resolve(call.id);
            promote();
            await clock.flush();
            check();
          }
          expect(started).toEqual(admitted.filter((id) => !leftQueue.has(id)));
          expect(policy.executing).toBe(0);
          expect(policy.queued).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
