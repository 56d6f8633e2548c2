import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/** The hooks a protection adds to a route; the plugin puts them in place. */
export type RequestHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void;

export type SendHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (error: Error | null, payload?: unknown) => void,
) => void;

/** What each factory returns: the hooks of one protection, shared by the routes that use it. */
export interface Protection {
  /** Which option of the route it goes in. */
  readonly kind: 'rateLimit' | 'loadShedding' | 'deadline' | 'idempotency';
  readonly onRequest?: RequestHook;
  readonly preHandler?: RequestHook;
  readonly onSend?: SendHook;
}
