import { type Expiring, StoreUnavailableError } from '@bulwark/core';
import type { BucketRule, Decision } from '@bulwark/rate-limit';
import { UnexpectedReplyError } from '../shared/script.js';

/** What a batch needs of its store once Redis answered, failed or missed the deadline. */
export interface BatchOwner {
  readonly timeoutMs: number;
  /** Redis took the batch: the store is healthy. */
  answered(batch: Batch): void;
  /** Redis did not take it: the store decides each take as `onStoreError` says. */
  failed(batch: Batch, error: unknown): void;
}

/**
 * Takes that go to Redis in one script (one slot, one tick): settled together by the reply,
 * its failure, or the one deadline they share. Parallel arrays, not an object per take.
 */
export class Batch implements Expiring {
  settled = false;
  next: Expiring | undefined = undefined;
  deadline = 0;
  /** The bucket keys in Redis, in order: the script's KEYS. */
  readonly keys: string[] = [];
  /** cost x interval and tolerance of each take: the script's ARGV. */
  readonly args: string[] = [];
  /** The takes do not all share one cost x interval and tolerance. */
  mixed = false;
  readonly ids: string[] = [];
  readonly costs: number[] = [];
  readonly rules: BucketRule[] = [];
  readonly nows: number[] = [];
  readonly resolves: Array<(decision: Decision) => void> = [];
  readonly rejects: Array<(error: unknown) => void> = [];

  constructor(private readonly owner: BatchOwner) {}

  add(key: string, increment: string, tolerance: string): void {
    const { args } = this;
    // The strings are the store's, one pair per rule and cost: identity tells a new pair.
    if (args.length > 0 && (increment !== args[0] || tolerance !== args[1])) this.mixed = true;
    this.keys.push(key);
    args.push(increment, tolerance);
  }

  get size(): number {
    return this.keys.length;
  }

  /** The script's reply: one integer for a lone take, else one per take (or Redis' error). */
  answered(reply: unknown): void {
    if (this.settled) return; // it timed out and was decided without Redis
    this.settled = true;
    this.owner.answered(this);
    if (this.keys.length === 1) {
      this.settle(0, reply);
      return;
    }
    if (!Array.isArray(reply) || reply.length !== this.keys.length) {
      const error = new UnexpectedReplyError(
        `redisRateLimitStore: Redis answered ${this.keys.length} takes with ${JSON.stringify(reply)}, not one integer each`,
      );
      for (const reject of this.rejects) reject(error);
      return;
    }
    for (let i = 0; i < reply.length; i++) this.settle(i, reply[i]);
  }

  failed(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.failed(this, error);
  }

  expire(): void {
    this.failed(
      new StoreUnavailableError(
        `redisRateLimitStore: Redis did not answer a take within ${this.owner.timeoutMs} ms`,
      ),
    );
  }

  private settle(i: number, code: unknown): void {
    if (typeof code !== 'number') {
      // Redis' own error for this key, such as WRONGTYPE, or a value no take script returns.
      this.rejects[i]!(
        code instanceof Error
          ? code
          : new UnexpectedReplyError(
              `redisRateLimitStore: Redis answered a take with ${JSON.stringify(code)}, not an integer`,
            ),
      );
      return;
    }
    // The backlog in µs when allowed, -1 minus it when refused (see the scripts).
    const allowed = code >= 0;
    this.resolves[i]!(
      this.rules[i]!.decide(allowed, (allowed ? code : -1 - code) / 1000, this.costs[i]!),
    );
  }
}
