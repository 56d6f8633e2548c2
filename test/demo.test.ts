import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../examples/dist/demo/main.js', import.meta.url));

describe('npm run demo', () => {
  it('runs both sides against the flaky dependency and prints the table', () => {
    const result = spawnSync(process.execPath, [demo, '--seconds', '3', '--concurrency', '10'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const row of [
      'calls made',
      'success rate',
      'p50 latency',
      'p99 latency',
      'requests that reached downstream',
      'of them during the outage',
      'breaker transitions',
    ]) {
      expect(result.stdout).toContain(row);
    }
  });

  it('refuses a bad option with a message that names it', () => {
    const result = spawnSync(process.execPath, [demo, '--seconds', '0'], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('--seconds must be in (0, 600], got 0');
  });
});
