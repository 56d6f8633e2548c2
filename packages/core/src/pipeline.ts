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
    return this.policy.execute((inner) => fn(toCallContext(inner, ctx.task)), {
      signal: ctx.scope ? ctx.signal : undefined,
      key: ctx.key,
    });
  }
}

type Step = (ctx: CallContext) => unknown;

// The innermost step: the call's own function, carried by its context.
const runTask: Step = (ctx) => ctx.task!(ctx);

class Pipeline extends PolicyBase {
  private readonly entry: Step;

  constructor(private readonly policies: readonly ComposablePolicy[]) {
    super('pipeline');
    // Each step runs one member around the next, built once: a call allocates no closures.
    let next = runTask;
    for (let i = policies.length - 1; i >= 0; i--) {
      const policy = policies[i]!;
      const inner = next;
      next = (ctx) => policy[RUN](inner, ctx);
    }
    this.entry = next;
  }

  [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): T | PromiseLike<T> {
    return this.entry(ctx.task === fn ? ctx : ctx.withTask(fn)) as T | PromiseLike<T>;
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
