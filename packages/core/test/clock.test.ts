import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { realClock } from '@bulwark/core';
import { describe, expect, it } from 'vitest';

const core = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function runScript(body: string) {
  const started = Date.now();
  const result = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { realClock } from ${JSON.stringify(core)};\n${body}`],
    {
      encoding: 'utf8',
      timeout: 10_000,
    },
  );
  return { ...result, ms: Date.now() - started };
}

describe('realClock', () => {
  it('keeps the process alive for a timer a call waits on', () => {
    const r = runScript("realClock.setTimer(() => console.log('fired'), 300);");
    expect(r.stdout.trim()).toBe('fired');
  });

  it('never keeps the process alive for a background timer', () => {
    const r = runScript("realClock.setTimer(() => console.log('fired'), 5000, 'background');");
    expect(r.stdout).toBe('');
    expect(r.ms).toBeLessThan(4000);
  });

  it('lets a cancelled timer go at once', () => {
    const r = runScript(
      "const cancel = realClock.setTimer(() => console.log('fired'), 5000); cancel();",
    );
    expect(r.stdout).toBe('');
    expect(r.ms).toBeLessThan(4000);
  });

  it('moves forward', () => {
    const a = realClock.now();
    const b = realClock.now();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(Math.abs(a - Date.now())).toBeLessThan(1000);
  });
});
