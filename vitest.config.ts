import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

// Tests import packages by name, as users do; here the names resolve to the TypeScript sources.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@bulwark\/core\/testing$/, replacement: `${packages}core/src/testing/index.ts` },
      { find: /^@bulwark\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
      { find: /^bulwark$/, replacement: `${packages}bulwark/src/index.ts` },
      { find: /^bulwark\/testing$/, replacement: `${packages}core/src/testing/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
