import { isResilienceError } from '@bulwark/core';
import { problemOf } from '@bulwark/http';
import type { FastifyInstance, FastifyPluginCallback, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { type DeadlineProtection, kSignal } from './deadline.js';
import type { Protection } from './hooks.js';
import { type IdempotencyProtection, kExchange } from './idempotency.js';
import type { LoadSheddingProtection } from './load-shedding.js';
import type { RateLimitProtection } from './rate-limit.js';
import { sendProblem } from './reply.js';

/** What a route protects itself with; `false` turns off a default of the plugin. */
export interface BulwarkRouteOptions {
  rateLimit?: RateLimitProtection | false;
  loadShedding?: LoadSheddingProtection | false;
  deadline?: DeadlineProtection | false;
  idempotency?: IdempotencyProtection | false;
}

/** The plugin's options: defaults for every route registered after it, and the error handler. */
export interface BulwarkPluginOptions extends BulwarkRouteOptions {
  /** Answer ResilienceErrors with problem details (setErrorHandler). Default true. */
  errorHandler?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** bulwark's protections of this route; see `@bulwark/fastify`. */
    bulwark?: BulwarkRouteOptions;
  }
}

const KINDS = ['rateLimit', 'loadShedding', 'deadline', 'idempotency'] as const;
type Kind = (typeof KINDS)[number];
type Chosen = { [K in Kind]?: Exclude<BulwarkRouteOptions[K], false | undefined> };

function check(where: string, options: object | undefined, extra: readonly string[] = []): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `${where} must be an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
  for (const name of Object.keys(options)) {
    if (extra.includes(name)) continue;
    if (!(KINDS as readonly string[]).includes(name)) {
      throw new TypeError(
        `${where}: unknown option ${JSON.stringify(name)}; expected one of ${[...KINDS, ...extra].join(', ')}`,
      );
    }
    const value = (options as Record<string, unknown>)[name];
    if (value === false || value === undefined) continue;
    if ((value as Partial<Protection> | null)?.kind !== name) {
      throw new TypeError(
        `${where}: ${name} must be what ${name}(...) of @bulwark/fastify returns, or false`,
      );
    }
  }
}

type Hook = NonNullable<RouteOptions['onRequest']>;

function list(hooks: unknown): unknown[] {
  if (hooks === undefined || hooks === null) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

function hooksOf(chosen: Chosen): Set<unknown> {
  const hooks = new Set<unknown>();
  for (const kind of KINDS) {
    const p: Protection | undefined = chosen[kind];
    if (p?.onRequest) hooks.add(p.onRequest);
    if (p?.preHandler) hooks.add(p.preHandler);
    if (p?.onSend) hooks.add(p.onSend);
  }
  return hooks;
}

/**
 * What each route got, for when the plugin is registered in nested scopes: every registration's
 * onRoute hook sees the route, and the innermost one decides (never two limiters of one kind).
 */
const applied = new WeakMap<object, Chosen>();

/** Puts a route's protections in place: limits first, then capacity, the deadline, the key. */
function protect(route: RouteOptions, defaults: BulwarkRouteOptions): void {
  const own = route.config?.bulwark;
  check(`@bulwark/fastify: config.bulwark of ${route.method} ${route.url}`, own);
  const before = applied.get(route) ?? {};
  const chosen: Chosen = {};
  for (const kind of KINDS) {
    const value = own?.[kind] ?? defaults[kind] ?? before[kind];
    if (value) (chosen as Record<Kind, unknown>)[kind] = value;
  }
  applied.set(route, chosen);
  // Hooks an outer registration of the plugin added come out first.
  const outer = hooksOf(before);
  const strip = (hooks: unknown) => list(hooks).filter((hook) => !outer.has(hook));
  const first = [chosen.rateLimit, chosen.loadShedding, chosen.deadline]
    .filter((p) => p !== undefined)
    .map((p) => p.onRequest);
  const onRequests = [...first, ...strip(route.onRequest)];
  const preHandlers = strip(route.preHandler);
  const onSends = strip(route.onSend);
  const idempotent = chosen.idempotency;
  if (idempotent !== undefined) {
    // After the route's own preHandlers (authentication there sets what `scope` reads), and
    // the last onSend, so that the stored payload is the one that goes out.
    preHandlers.push(idempotent.preHandler);
    onSends.push(idempotent.onSend);
  }
  route.onRequest = (onRequests.length > 0 ? onRequests : undefined) as Hook;
  route.preHandler = (preHandlers.length > 0 ? preHandlers : undefined) as Hook;
  route.onSend = (onSends.length > 0 ? onSends : undefined) as RouteOptions['onSend'];
}

const plugin: FastifyPluginCallback<BulwarkPluginOptions> = (fastify, options, done) => {
  try {
    check('@bulwark/fastify: options', options, ['errorHandler']);
    const { errorHandler = true, ...defaults } = options;
    if (typeof errorHandler !== 'boolean') {
      throw new TypeError(
        `@bulwark/fastify: errorHandler must be a boolean, got ${typeof errorHandler}`,
      );
    }
    // Declared (once, however many scopes register the plugin), so requests keep one shape.
    for (const slot of [kExchange, kSignal]) {
      if (!fastify.hasRequestDecorator(slot as unknown as string)) {
        fastify.decorateRequest(slot as unknown as string, null);
      }
    }
    fastify.addHook('onRoute', (route) => protect(route as RouteOptions, defaults));
    if (errorHandler) installErrorHandler(fastify);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
};

/**
 * ResilienceErrors become problem responses. Any other error is thrown on: Fastify hands an
 * error thrown by an error handler to the handler that was in place before this one.
 */
function installErrorHandler(fastify: FastifyInstance): void {
  fastify.setErrorHandler(function bulwarkErrorHandler(error, _request, reply) {
    if (!isResilienceError(error)) throw error;
    return sendProblem(reply, problemOf(error));
  });
}

/**
 * The bulwark plugin: `app.register(bulwark, { rateLimit: rateLimit({...}) })` protects every
 * route registered after it; a route's `config: { bulwark: {...} }` adds, replaces or (with
 * `false`) turns off a protection. It also maps every ResilienceError to its HTTP status.
 */
export const bulwark = fp(plugin, { fastify: '5.x', name: '@bulwark/fastify' });
