import { isResilienceError } from '@bulwark/core';
import { type IdempotencyPolicy, idempotency } from '@bulwark/idempotency';
import { requestFingerprint } from './fingerprint.js';
import { parseIdempotencyKey, scopedKey } from './idempotency-key.js';
import { type HttpIdempotencyOptions, resolveIdempotencyOptions } from './options.js';
import { type Problem, problem } from './problem.js';
import {
  isStoredResponse,
  type ResponseHeaders,
  type StoredResponse,
  storedResponse,
} from './stored-response.js';

/** What to do with a request, once its Idempotency-Key has been looked up. */
export type IdempotencyStart =
  /** Not an idempotent request (no key where none is required): handle it as usual. */
  | { readonly type: 'pass' }
  /** Answer with this problem: 400 (bad key), 409 (in progress), 422 (key reused). */
  | { readonly type: 'refuse'; readonly problem: Problem }
  /** Something failed (the store, the scope function): hand it to the framework's error path. */
  | { readonly type: 'fail'; readonly error: unknown }
  /** The key is done: answer with its stored response and `Idempotent-Replayed: true`. */
  | { readonly type: 'replay'; readonly response: StoredResponse }
  /** The key is ours: run the handler, capture its response, `finish` it, then send it. */
  | { readonly type: 'run'; readonly exchange: IdempotentExchange };

const PASS: IdempotencyStart = Object.freeze({ type: 'pass' });

/** A 409 waits at most this long: a lease's end is when a crashed owner's key frees, not a hint. */
const MAX_IN_PROGRESS_RETRY_MS = 1000;

/**
 * Answers that say "try again", not "this is the outcome": a retry must run the request again.
 * 408 and 429 always (a rate limit inside the handler, as Stripe does not record a throttled
 * call); 5xx unless `storeServerErrors`.
 */
function releases(status: number, storeServerErrors: boolean): boolean {
  return status === 429 || status === 408 || (status >= 500 && !storeServerErrors);
}

/** Why the handler's response was not stored: a retry may run it again. */
class RetryableResponse extends Error {
  constructor(readonly status: number) {
    super(`idempotency: the response was a ${status}; the key was released for a retry`);
    this.name = 'RetryableResponse';
  }
}

function refuse(p: Problem): IdempotencyStart {
  return { type: 'refuse', problem: p };
}

/** One request that holds its key while the handler runs. */
export class IdempotentExchange {
  private ran = false;
  private finished = false;
  private deliver: (response: StoredResponse) => void = () => {};
  private release: (error: Error) => void = () => {};
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly storeServerErrors: boolean) {}

  /** @internal Claims the key; resolves when the handler may run, or with what to answer instead. */
  start(policy: IdempotencyPolicy, key: string, fingerprint: string): Promise<IdempotencyStart> {
    return new Promise((resolve) => {
      const run = policy.run(key, fingerprint, () => {
        this.ran = true;
        resolve({ type: 'run', exchange: this });
        return new Promise<StoredResponse>((deliver, release) => {
          this.deliver = deliver;
          this.release = release;
        });
      });
      this.done = run.then(
        (stored) => {
          if (this.ran) return;
          resolve(
            isStoredResponse(stored)
              ? { type: 'replay', response: stored }
              : {
                  type: 'fail',
                  error: new TypeError(
                    `idempotency: the record of key ${JSON.stringify(key)} is not a stored HTTP response; was the store shared with another use?`,
                  ),
                },
          );
        },
        (error: unknown) => {
          // After the handler ran, a failure (a released 5xx, a store that did not take the
          // record) is the policy's to report: the client still gets the handler's response.
          if (this.ran) return;
          if (isResilienceError(error, 'IDEMPOTENCY_IN_PROGRESS')) {
            const wait = Math.min(
              error.retryAfterMs ?? MAX_IN_PROGRESS_RETRY_MS,
              MAX_IN_PROGRESS_RETRY_MS,
            );
            resolve(refuse(problem('IDEMPOTENCY_IN_PROGRESS', Math.max(1, wait))));
          } else if (isResilienceError(error, 'IDEMPOTENCY_KEY_REUSED')) {
            resolve(refuse(problem('IDEMPOTENCY_KEY_REUSED')));
          } else {
            resolve({ type: 'fail', error });
          }
        },
      );
    });
  }

  /**
   * Records the handler's response (a 5xx, 408 or 429 releases the key instead)
   * and resolves once the store has it: only then may the response go out, so a repeat that
   * arrives the moment the client has its answer finds the record. Never rejects.
   */
  finish(status: number, headers: ResponseHeaders, body: Buffer | string): Promise<void> {
    if (this.finished) return this.done;
    this.finished = true;
    if (releases(status, this.storeServerErrors)) this.release(new RetryableResponse(status));
    else this.deliver(storedResponse(status, headers, body));
    return this.done;
  }
}

/**
 * What the `idempotency` middleware of every adapter does, short of capturing and writing
 * responses: read and check the key, scope it, fingerprint the request, claim the key, and
 * store or release the outcome.
 */
export class HttpIdempotency<Req> {
  /** The policy underneath: `.on(listener)` hears `claimed`, `replayed`, `released`... */
  readonly policy: IdempotencyPolicy;
  readonly required: boolean;
  private readonly methods: ReadonlySet<string>;
  private readonly scope: ((req: Req) => string | PromiseLike<string>) | undefined;
  private readonly storeServerErrors: boolean;
  private readonly where: string;

  constructor(where: string, options: HttpIdempotencyOptions<Req> | undefined) {
    const o = resolveIdempotencyOptions(where, options);
    this.where = where;
    this.required = o.required;
    this.methods = o.methods;
    this.scope = o.scope;
    this.storeServerErrors = o.storeServerErrors;
    const policyOptions: Parameters<typeof idempotency>[0] = {};
    if (o.store !== undefined) policyOptions.store = o.store;
    if (o.ttlMs !== undefined) policyOptions.ttlMs = o.ttlMs;
    if (o.leaseMs !== undefined) policyOptions.leaseMs = o.leaseMs;
    if (o.clock !== undefined) policyOptions.clock = o.clock;
    this.policy = idempotency(policyOptions);
  }

  /** True when requests of this method are idempotent ones (POST and PATCH by default). */
  covers(method: string): boolean {
    return this.methods.has(method);
  }

  /**
   * Looks a request up. `header` is its Idempotency-Key, `url` its path and query string, `body`
   * its parsed body: the three, with the method, make the fingerprint.
   */
  async begin(
    req: Req,
    method: string,
    url: string,
    header: string | readonly string[] | undefined,
    body: unknown,
  ): Promise<IdempotencyStart> {
    const parsed = parseIdempotencyKey(header);
    if (parsed === undefined) {
      return this.required ? refuse(problem('IDEMPOTENCY_KEY_MISSING')) : PASS;
    }
    if (parsed.key === undefined) return refuse(problem('IDEMPOTENCY_KEY_INVALID'));
    let key = parsed.key;
    let fingerprint: string;
    try {
      if (this.scope !== undefined) {
        const scope = await this.scope(req);
        if (typeof scope !== 'string') {
          throw new TypeError(
            `${this.where}: the scope option must return a string (a user or tenant id), got ${scope === null ? 'null' : typeof scope}`,
          );
        }
        key = scopedKey(scope, key);
      }
      fingerprint = requestFingerprint(method, url, body);
    } catch (error) {
      return { type: 'fail', error };
    }
    return new IdempotentExchange(this.storeServerErrors).start(this.policy, key, fingerprint);
  }
}
