/// <reference path="../packages/express/test/express4.d.ts" />
/**
 * The rate-limit and idempotency behaviours of both adapters, over real HTTP, with their state
 * in the shared Redis (a fresh prefix per store, deleted after).
 */
import express from 'express';
import express4 from 'express4';
import { afterAll } from 'vitest';
import { expressHarness } from '../packages/express/test/harness.js';
import { fastifyHarness } from '../packages/fastify/test/harness.js';
import { describeStoreConformance } from '../packages/http/test/conformance/index.js';
import { redisStores } from './fixtures/http-stores.js';

const stores = redisStores();
afterAll(() => stores.close());

describeStoreConformance(expressHarness('Express 5', express), stores);
describeStoreConformance(expressHarness('Express 4', express4), stores);
describeStoreConformance(fastifyHarness(), stores);
