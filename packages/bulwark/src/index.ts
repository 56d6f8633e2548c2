// One import for every in-process package. Adapters (@bulwark/express, @bulwark/fastify,
// @bulwark/pino) and stores (@bulwark/redis, @bulwark/postgres) stay separate installs, so an
// application pays for ioredis, pg or a web framework only when it uses them.
export * from '@bulwark/bulkhead';
export * from '@bulwark/cache';
export * from '@bulwark/circuit-breaker';
export * from '@bulwark/core';
export * from '@bulwark/idempotency';
export * from '@bulwark/rate-limit';
export * from '@bulwark/retry';
export * from '@bulwark/timeout';
