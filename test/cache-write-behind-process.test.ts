import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/cache-write-behind-exit.mjs', import.meta.url));

function run(mode: string): Promise<{ code: number | null; out: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the ${mode} script did not exit`));
    }, 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

// Real processes on the built package, with real timers.
describe('writeBehind timers in a real process', () => {
  it('does not keep the process alive with its flush timer', async () => {
    const { code, ms } = await run('idle');
    expect(code).toBe(0);
    // flushIntervalMs is 60 s: the process exited long before the timer would have fired.
    expect(ms).toBeLessThan(30_000);
  });

  it('keeps the process alive while close() retries a failing source', async () => {
    const { code, out } = await run('close');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ a: 1 });
  });
});
