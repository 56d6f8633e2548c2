import { type CallContext, toCallContext } from './context.js';
import {
  type ComposablePolicy,
  EVENTS,
  type InnerTask,
  isComposable,
  isPolicy,
  type Policy,
  RUN,
} from './policy.js';
import { PolicyBase } from './policy-base.js';

/** Runs a policy from elsewhere (hand-written, or another copy of this package) through its execute. */
class ForeignPolicy extends PolicyBase {
  constructor(private readonly policy: Policy) {
    super('foreign');
    policy.on((event) => this[EVENTS].emit(event));
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): Promise<T> {
    return this.policy.execute((inner) => fn(toCallContext(inner)), {
      signal: ctx.scope ? ctx.signal : undefined,
      key: ctx.key,
    });
  }
}

class Pipeline extends PolicyBase {
  private readonly last: number;

  constructor(private readonly policies: readonly ComposablePolicy[]) {
    super('pipeline');
    this.last = policies.length - 1;
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    return this.last < 0 ? fn(ctx) : this.runFrom(0, fn, ctx);
  }

  private runFrom<T>(index: number, fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    const policy = this.policies[index]!;
    if (index === this.last) return policy[RUN](fn, ctx);
    return policy[RUN]((inner) => this.runFrom(index + 1, fn, inner), ctx);
  }

  static of(members: readonly Policy[]): Pipeline {
    const runs: ComposablePolicy[] = [];
    const hubs = [];
    for (const [i, member] of members.entries()) {
      if (!isPolicy(member)) {
        throw new TypeError(
          `pipeline: argument ${i + 1} must be a policy, got ${member === null ? 'null' : typeof member}`,
        );
      }
      const policy = isComposable(member) ? member : new ForeignPolicy(member);
      // A nested pipeline runs its members directly; its own hub still relays their events.
      if (policy instanceof Pipeline) runs.push(...policy.policies);
      else runs.push(policy);
      hubs.push(policy[EVENTS]);
    }
    const pipeline = new Pipeline(runs);
    for (const hub of hubs) pipeline[EVENTS].adopt(hub);
    return pipeline;
  }
}

/**
 * Composes policies into one; the first is outermost: `pipeline(timeout, retry, breaker)` puts
 * the timeout around every retry. `attempt`, `key` and the signal flow inward, and the
 * pipeline's `on` hears every member's events.
 */
export function pipeline(...policies: Policy[]): Policy {
  return Pipeline.of(policies);
}
