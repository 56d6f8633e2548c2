import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const example = (path: string) =>
  fileURLToPath(new URL(`../examples/dist/${path}`, import.meta.url));

describe('examples', () => {
  it('fetch: retries through 503s with Retry-After and a timeout, then gets the answer', () => {
    const result = spawnSync(process.execPath, [example('fetch/main.js')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('attempt 1 failed (HttpError: HTTP 503), next in 1000 ms');
    expect(result.stdout).toContain('timeout after 500 ms');
    expect(result.stdout).toMatch(/ok after 4 requests/);
  });
});
