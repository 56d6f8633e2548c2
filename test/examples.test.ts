import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

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

/** Starts a service on a free port and returns its URL once it says it listens. */
async function start(
  service: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [example(`services/${service}.js`)], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${service} did not start: ${output}`)),
      15_000,
    );
    child.stderr!.on('data', (d) => (output += d));
    child.stdout!.on('data', (d) => {
      output += d;
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`${service} exited with ${code}: ${output}`)));
  });
  return { url, child };
}

const prefixes: string[] = [];
afterAll(async () => {
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

describe.each(['express', 'fastify'])('examples/services/%s', (service) => {
  it.each(['memory', 'Redis'])(
    'serves every middleware on real routes, with state in %s',
    async (where) => {
      const prefix = `test:example:${randomUUID().slice(0, 8)}:`;
      prefixes.push(prefix);
      const env: Record<string, string> =
        where === 'Redis' ? { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: prefix } : {};
      const { url, child } = await start(service, env);
      try {
        const user = await fetch(`${url}/users/7`);
        expect(user.status).toBe(200);
        expect(user.headers.get('ratelimit-policy')).toBe('"default";q=20;w=4');

        const pay = () =>
          fetch(`${url}/payments`, {
            method: 'POST',
            headers: { 'idempotency-key': 'order-1', 'content-type': 'application/json' },
            body: JSON.stringify({ amount: 100 }),
          });
        const first = await pay();
        const again = await pay();
        expect(first.status).toBe(201);
        expect(again.status).toBe(201);
        expect(await again.json()).toEqual(await first.json());
        expect(again.headers.get('idempotent-replayed')).toBe('true');
        expect((await fetch(`${url}/payments`, { method: 'POST' })).status).toBe(400);

        const slow = await fetch(`${url}/reports?ms=3000`);
        expect(slow.status).toBe(504);
        expect(slow.headers.get('content-type')).toContain('application/problem+json');
      } finally {
        child.kill('SIGTERM');
        const [code, signal] = await once(child, 'exit');
        // It shuts down on SIGTERM by itself: servers closed, Redis client quit.
        expect(signal === null ? code : signal).toBe(0);
      }
    },
    60_000,
  );
});
