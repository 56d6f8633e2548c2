import type { Context, InnerTask } from './policy.js';

/**
 * Where a call's AbortSignal comes from. The AbortController is made only when someone reads
 * `ctx.signal`: creating one and calling `abort()` on it costs microseconds, and most calls
 * never look.
 */
export class AbortScope {
  private controller: AbortController | undefined;
  private ownAborted = false;
  private ownReason: unknown;
  private unlink: (() => void) | undefined;

  /**
   * @param parent the scope this one nests in (a timeout inside a caller's signal)
   * @param external a signal from outside: the caller's, for a root scope
   */
  constructor(
    readonly parent: AbortScope | undefined,
    readonly external: AbortSignal | undefined,
  ) {}

  get aborted(): boolean {
    return this.ownAborted || this.external?.aborted === true || this.parent?.aborted === true;
  }

  get reason(): unknown {
    if (this.ownAborted) return this.ownReason;
    if (this.external?.aborted) return this.external.reason;
    return this.parent?.reason;
  }

  /** The caller's signal: the outermost external one. */
  get caller(): AbortSignal | undefined {
    return this.parent ? this.parent.caller : this.external;
  }

  get signal(): AbortSignal {
    if (this.parent === undefined && this.external !== undefined) return this.external;
    if (this.controller) return this.controller.signal;
    const controller = new AbortController();
    this.controller = controller;
    if (this.aborted) {
      controller.abort(this.reason);
    } else if (this.parent) {
      const upstream = this.parent.signal;
      const relay = () => controller.abort(upstream.reason);
      upstream.addEventListener('abort', relay, { once: true });
      this.unlink = () => upstream.removeEventListener('abort', relay);
    }
    return controller.signal;
  }

  /** Aborts this scope (and whoever reads its signal). The first reason wins. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.ownAborted = true;
    this.ownReason = reason;
    this.unlink?.();
    this.unlink = undefined;
    this.controller?.abort(reason);
  }

  /** Stops listening to the parent; call when the call this scope belongs to settles. */
  dispose(): void {
    this.unlink?.();
    this.unlink = undefined;
  }
}

/** The Context every bulwark policy passes inward. */
export class CallContext implements Context {
  private ownSignal: AbortSignal | undefined;

  constructor(
    readonly attempt: number,
    readonly key: string | undefined,
    /** Undefined when nothing can abort this call: no caller signal, no timeout. */
    readonly scope: AbortScope | undefined,
    /**
     * The function the call runs at its innermost point. A pipeline's steps are built once and
     * find the call's function here, instead of a closure per policy per call.
     */
    readonly task?: InnerTask<unknown>,
  ) {}

  get signal(): AbortSignal {
    if (this.scope) return this.scope.signal;
    // Nothing can abort this call, but a reader still gets a signal of its own.
    this.ownSignal ??= new AbortController().signal;
    return this.ownSignal;
  }

  /** True when the signal has aborted, without building the signal. */
  get aborted(): boolean {
    return this.scope?.aborted === true;
  }

  /** True when the caller cancelled; such a call is never retried nor replaced by a fallback. */
  get callerAborted(): boolean {
    return this.scope?.caller?.aborted === true;
  }

  withAttempt(attempt: number): CallContext {
    return new CallContext(attempt, this.key, this.scope, this.task);
  }

  withScope(scope: AbortScope): CallContext {
    return new CallContext(this.attempt, this.key, scope, this.task);
  }

  withTask(task: InnerTask<unknown>): CallContext {
    return new CallContext(this.attempt, this.key, this.scope, task);
  }

  /** A scope nested in this call's, for a policy that can abort what runs inside it. */
  childScope(): AbortScope {
    return new AbortScope(this.scope, undefined);
  }
}

/** Adopts a Context made elsewhere (another copy of this package, a hand-written policy). */
export function toCallContext(ctx: Context, task?: InnerTask<unknown>): CallContext {
  if (ctx instanceof CallContext)
    return task === undefined || ctx.task === task ? ctx : ctx.withTask(task);
  return new CallContext(ctx.attempt, ctx.key, new AbortScope(undefined, ctx.signal), task);
}

export function rootContext(
  signal: AbortSignal | undefined,
  key: string | undefined,
  task?: InnerTask<unknown>,
): CallContext {
  return new CallContext(1, key, signal ? new AbortScope(undefined, signal) : undefined, task);
}
