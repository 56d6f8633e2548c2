import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));
// .ci/run points this at a second install of ioredis (the other major) for one run of the
// Redis suites; child processes still load the workspace's own.
const ioredis = process.env.BULWARK_IOREDIS;

// Tests import packages by name, as users do; here the names resolve to the TypeScript sources.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@bulwark\/core\/testing$/, replacement: `${packages}core/src/testing/index.ts` },
      { find: /^@bulwark\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
      { find: /^bulwark$/, replacement: `${packages}bulwark/src/index.ts` },
      { find: /^bulwark\/testing$/, replacement: `${packages}core/src/testing/index.ts` },
      ...(ioredis ? [{ find: /^ioredis$/, replacement: `${ioredis}/built/index.js` }] : []),
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
