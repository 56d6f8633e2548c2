/**
 * A framework-neutral description of an app, so that one suite of HTTP tests runs on every
 * adapter (Express 5, Express 4, Fastify) and every store (memory, Redis). Each adapter's tests
 * provide a Harness that builds the app with its own middleware.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BulkheadPolicy } from '@bulwark/bulkhead';
import type {
  DeadlineOptions,
  HttpIdempotencyOptions,
  HttpRateLimitOptions,
  LoadSheddingOptions,
} from '@bulwark/http';
import type { IdempotencyPolicy, IdempotencyStore } from '@bulwark/idempotency';
import type { RateLimitStore } from '@bulwark/rate-limit';
import type { TimeoutPolicy } from '@bulwark/timeout';

/** What a neutral handler sees of its request. */
export interface NeutralRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
  /** `req.signal` / `request.signal`. */
  readonly signal: AbortSignal | undefined;
}

export interface NeutralResponse {
  status?: number;
  headers?: Record<string, string | string[]>;
  /** An object is sent as JSON; a string as it is. */
  body?: unknown;
}

/** Returns a response, or throws (the framework's error path: bulwark's error handler). */
export type NeutralHandler = (req: NeutralRequest) => NeutralResponse | Promise<NeutralResponse>;

export interface RouteSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  rateLimit?: HttpRateLimitOptions<NeutralRequest>;
  loadShedding?: LoadSheddingOptions;
  deadline?: DeadlineOptions;
  idempotency?: HttpIdempotencyOptions<NeutralRequest>;
  handler: NeutralHandler;
}

export interface AppSpec {
  routes: RouteSpec[];
  /** The framework's trust-proxy setting: true believes X-Forwarded-For. Default false. */
  trustProxy?: boolean;
  /** Default '127.0.0.1'. */
  host?: string;
}

/** What the adapter built for a route, to look inside. */
export interface BuiltRoute {
  bulkhead?: BulkheadPolicy;
  idempotency?: IdempotencyPolicy;
  timeout?: TimeoutPolicy;
}

export interface RunningApp {
  /** `http://127.0.0.1:port` (or `http://[::1]:port`). */
  readonly url: string;
  /** In the order of `AppSpec.routes`. */
  readonly routes: BuiltRoute[];
  close(): Promise<void>;
}

export interface Harness {
  readonly name: string;
  start(spec: AppSpec): Promise<RunningApp>;
}

type Fn<Req, R> = (req: Req) => R;

/** The options of a spec with its functions taking the framework's request instead. */
export function adaptRateLimit<Req>(
  options: HttpRateLimitOptions<NeutralRequest>,
  neutral: (req: Req) => NeutralRequest,
): HttpRateLimitOptions<Req> {
  const { key, skip, cost, ...rest } = options;
  const adapted: HttpRateLimitOptions<Req> = { ...rest };
  if (key) adapted.key = (req) => key(neutral(req));
  if (skip) adapted.skip = (req) => skip(neutral(req));
  if (cost !== undefined) {
    adapted.cost =
      typeof cost === 'number'
        ? cost
        : (req: Req) => (cost as Fn<NeutralRequest, number>)(neutral(req));
  }
  return adapted;
}

export function adaptIdempotency<Req>(
  options: HttpIdempotencyOptions<NeutralRequest>,
  neutral: (req: Req) => NeutralRequest,
): HttpIdempotencyOptions<Req> {
  const { scope, ...rest } = options;
  const adapted: HttpIdempotencyOptions<Req> = { ...rest };
  if (scope) adapted.scope = (req) => scope(neutral(req));
  return adapted;
}

/** A fetch answer, read in full. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, when it is a JSON object; else empty. */
  json: Record<string, unknown>;
}

export interface Send {
  method?: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

export async function call(url: string, send: Send = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...send.headers };
  let body: string | undefined;
  if (send.body !== undefined) {
    body = typeof send.body === 'string' ? send.body : JSON.stringify(send.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, {
    method: send.method ?? 'GET',
    headers,
    body,
    signal: send.signal,
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, unknown>;
  } catch {
    // not JSON: json stays empty
  }
  return { status: response.status, headers: response.headers, text, json };
}

export { type Deferred, deferred } from '@bulwark/core/testing';

/** The stores a run of the suite uses; memory stores by default. */
export interface SuiteStores {
  readonly name: string;
  /** A fresh rate-limit store; undefined: each limiter's own memory store. */
  rateLimit?(): RateLimitStore;
  /** A fresh idempotency store; undefined: each middleware's own memory store. */
  idempotency?(): IdempotencyStore;
  /**
   * True when the limiter's clock is the store's (memory): header values are exact. A Redis store
   * keeps time by Redis' clock, so the suite only checks what holds whatever time has passed.
   */
  readonly exactTime: boolean;
}

export const memoryStores: SuiteStores = { name: 'memory stores', exactTime: true };
