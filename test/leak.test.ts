import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function runNode(
  args: string[],
): Promise<{ stdout: string; stderr: string; code: number | null; exitedAt: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ stdout, stderr, code, exitedAt: Date.now() }));
  });
}

describe('no leaks', () => {
  it('a million calls mixing successes, failures, timeouts and aborts leave the heap where it was and no handles', async () => {
    const result = await runNode(['--expose-gc', fixture('leak.mjs'), '1000000']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const figures = JSON.parse(result.stdout) as {
      growth: number;
      handles: string[];
      state: string;
    };
    expect(figures.growth).toBeLessThan(4 * 1024 * 1024);
    expect(figures.handles).toEqual([]);
    expect(figures.state).toBe('closed');
  }, 180_000);

  it('a script that uses every policy exits on its own as soon as it is done', async () => {
    const result = await runNode([fixture('every-policy.mjs')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { results, finishedAt } = JSON.parse(result.stdout) as {
      results: string[];
      finishedAt: number;
    };
    expect(results).toEqual(['ok', 'retried', 'fallback']);
    // Every policy above holds a 60 s timer while a call waits; none may outlive its call.
    expect(result.exitedAt - finishedAt).toBeLessThan(2_000);
  }, 60_000);
});
