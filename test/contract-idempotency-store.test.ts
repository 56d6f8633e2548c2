/**
 * The IdempotencyStore contract on every store: memory (manual clock), Redis, a Redis Cluster
 * of 3 masters started for the test, and PostgreSQL (a table of the test's own).
 */
import { manualClock } from '@bulwark/core/testing';
import { memoryIdempotencyStore } from '@bulwark/idempotency';
import { describeStoreContract } from '../packages/idempotency/test/store-contract.js';
import {
  postgresHarness,
  redisClusterHarness,
  redisHarness,
} from './fixtures/idempotency-helpers.js';

describeStoreContract('memoryIdempotencyStore', () => {
  const clock = manualClock(1_000_000);
  return {
    store: memoryIdempotencyStore({ clock }),
    clock,
    wait: (ms) => clock.advance(ms),
    shortLeaseMs: 200,
    longLeaseMs: 10_000,
    renewedLeaseMs: 300,
  };
});

describeStoreContract('redisIdempotencyStore', redisHarness);

describeStoreContract('redisIdempotencyStore on Redis Cluster', redisClusterHarness);

describeStoreContract('postgresIdempotencyStore', postgresHarness);
