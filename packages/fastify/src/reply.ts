import {
  IDEMPOTENT_REPLAYED,
  type Problem,
  problemResponse,
  type StoredResponse,
  storedBody,
} from '@bulwark/http';
import type { FastifyReply } from 'fastify';

/** Answers with an `application/problem+json` body (and Retry-After when it has retryAfterMs). */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  const { status, headers, body } = problemResponse(problem);
  return reply.code(status).headers(headers).send(body);
}

/** Replays a stored response; a header this request already has (fresh RateLimit fields) wins. */
export function sendStoredResponse(reply: FastifyReply, stored: StoredResponse): FastifyReply {
  reply.code(stored.status);
  for (const [name, value] of stored.headers) {
    if (!reply.hasHeader(name)) reply.header(name, value);
  }
  reply.header(IDEMPOTENT_REPLAYED, 'true');
  return reply.send(storedBody(stored));
}
