import type { ServerResponse } from 'node:http';
import type { Clock } from '@bulwark/core';
import type { Decision, RateLimiter } from '@bulwark/rate-limit';
import { clientKey } from './client-key.js';
import { rateLimitField, rateLimitPolicyField } from './headers.js';
import { type HttpRateLimitOptions, resolveRateLimitOptions } from './options.js';
import { type Problem, problem } from './problem.js';

function describe(value: unknown): string {
  if (value === null) return 'null';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

/**
 * What the `rateLimit` middleware of every adapter does, short of touching the framework: the
 * key and cost of a request, the limiter's decision, the RateLimit fields, the 429 problem, and a
 * leaky bucket's wait for its slot.
 */
export class HttpRateLimit<Req> {
  readonly limiter: RateLimiter;
  /** False when only refusals carry the RateLimit fields (`fields: 'refused'`). */
  private readonly fieldsOnAllowed: boolean;
  private readonly where: string;
  private readonly addressOf: (req: Req) => string | undefined;
  private readonly keyOf: HttpRateLimitOptions<Req>['key'];
  private readonly cost: number | ((req: Req) => number | PromiseLike<number>);
  private readonly skip: HttpRateLimitOptions<Req>['skip'];
  private readonly name: string;
  private readonly windowSeconds: number | undefined;
  private readonly ipv6Subnet: number | false;
  private readonly clock: Clock;
  /** True when a request's key and cost need no call of the user's: the fast path. */
  private readonly plain: boolean;
  // RateLimit-Policy only changes with the limit, which is the limiter's: built once, not per request.
  private policyLimit = Number.NaN;
  private policyText = '';

  /**
   * @param where the middleware's name, for error messages (`rateLimit`)
   * @param addressOf the client address as the framework sees it, trust proxy applied
   */
  constructor(
    where: string,
    options: HttpRateLimitOptions<Req>,
    addressOf: (req: Req) => string | undefined,
  ) {
    const o = resolveRateLimitOptions(where, options);
    this.where = where;
    this.limiter = o.limiter;
    this.fieldsOnAllowed = o.fieldsOnAllowed;
    this.addressOf = addressOf;
    this.keyOf = o.key;
    this.cost = o.cost;
    this.skip = o.skip;
    this.name = o.policyName;
    this.windowSeconds = o.windowSeconds;
    this.ipv6Subnet = o.ipv6Subnet;
    this.clock = o.clock;
    this.plain = o.key === undefined && o.skip === undefined && typeof o.cost === 'number';
  }

  /**
   * The decision for `req` at once, when no option of the user's must be awaited and the
   * limiter's store answers synchronously (memory); undefined otherwise: then use `decide`.
   */
  decideNow(req: Req): Decision | undefined {
    if (!this.plain || this.limiter.takeNow === undefined) return undefined;
    return this.limiter.takeNow(
      clientKey(this.addressOf(req), this.ipv6Subnet),
      this.cost as number,
    );
  }

  /** The limiter's decision for `req`; undefined when `skip` leaves it alone. */
  decide(req: Req): Promise<Decision | undefined> {
    if (this.plain) {
      return this.limiter.take(
        clientKey(this.addressOf(req), this.ipv6Subnet),
        this.cost as number,
      );
    }
    return this.decideWithOptions(req);
  }

  private async decideWithOptions(req: Req): Promise<Decision | undefined> {
    if (this.skip !== undefined && (await this.skip(req)) === true) return undefined;
    const key =
      this.keyOf === undefined
        ? clientKey(this.addressOf(req), this.ipv6Subnet)
        : await this.keyOf(req);
    if (typeof key !== 'string') {
      throw new TypeError(
        `${this.where}: the key option must return a string, got ${describe(key)}`,
      );
    }
    const cost = typeof this.cost === 'number' ? this.cost : await this.cost(req);
    return this.limiter.take(key, cost);
  }

  /** Whether the response to `decision` carries RateLimit-Policy and RateLimit. */
  sendsFields(decision: Decision): boolean {
    return !decision.allowed || this.fieldsOnAllowed;
  }

  /** `RateLimit-Policy: "default";q=100;w=60`. */
  policyField(decision: Decision): string {
    if (decision.limit !== this.policyLimit) {
      this.policyLimit = decision.limit;
      this.policyText = rateLimitPolicyField(
        this.name,
        decision.limit,
        this.window(decision.limit),
      );
    }
    return this.policyText;
  }

  /** `RateLimit: "default";r=42;t=17`. */
  field(decision: Decision): string {
    return rateLimitField(this.name, decision.remaining, decision.resetMs);
  }

  /** The 429 of a refused decision, with its retryAfterMs. */
  refusal(decision: Decision): Problem {
    return problem('RATE_LIMITED', Math.max(1, decision.retryAfterMs));
  }

  /**
   * Waits out a leaky bucket's `waitMs` (a `'call'` timer on the limiter's clock). Resolves
   * false, at once, if the response closes first: the client left, so the request never runs.
   * Its slot is not given back (the requests after it keep their spacing).
   */
  wait(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const onClose = () => {
        cancel();
        resolve(false);
      };
      const cancel = this.clock.setTimer(
        () => {
          res.off('close', onClose);
          resolve(true);
        },
        ms,
        'call',
      );
      res.once('close', onClose);
    });
  }

  /**
   * `w`: the option, else the time the limiter takes to fill a whole quota (`capacity /
   * refillPerSecond` for a token bucket), when the limiter says its rate; else left out.
   */
  private window(limit: number): number | undefined {
    if (this.windowSeconds !== undefined) return this.windowSeconds;
    const intervalMs = (this.limiter as { intervalMs?: unknown }).intervalMs;
    if (typeof intervalMs !== 'number' || !(intervalMs > 0)) return undefined;
    // Less a hair: 1000 / (3 / 60) x 3 is 60.000000000000004, not 61 s.
    return Math.max(1, Math.ceil((limit * intervalMs) / 1000 - 1e-6));
  }
}
