import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const worker = fileURLToPath(new URL('../fixtures/rate-limit-worker.mjs', import.meta.url));
const built = ['rate-limit', 'redis'].map((p) =>
  fileURLToPath(new URL(`../../packages/${p}/dist/index.js`, import.meta.url)),
);

export interface WorkersConfig {
  processes: number;
  workers: number;
  cluster: boolean;
  nodes: Array<{ host: string; port: number }>;
  prefix: string;
  key: string;
  capacity: number;
  refillPerSecond: number;
  durationMs: number;
}

export interface WorkersResult {
  admitted: number;
  refused: number;
  errors: number;
  startAt: number;
  /** When the last answer of any process came: no take was decided later than this. */
  lastAnswerAt: number;
}

interface Done {
  type: 'done';
  admitted: number;
  refused: number;
  errors: number;
  lastAnswerAt: number;
}

function next<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`worker exited early (${code})`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as T);
    });
  });
}

/** Runs `processes` Node processes (this Node, the built packages) taking from one bucket. */
export async function runWorkers(config: WorkersConfig): Promise<WorkersResult> {
  for (const file of built) {
    if (!existsSync(file)) throw new Error(`${file} is missing: build first (npm test does)`);
  }
  const children = Array.from({ length: config.processes }, () =>
    fork(worker, [], {
      execPath: process.execPath,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  try {
    const ready = children.map((c) => next(c));
    for (const child of children) child.send(config);
    await Promise.all(ready);
    // Everyone starts together, on the machine's clock, once all are connected. The last takes
    // go out a little before the end, so one that a loaded machine answers late (up to 300 ms)
    // still falls inside the span.
    const startAt = Date.now() + 500;
    const issueUntil = startAt + config.durationMs - 200;
    const done = children.map((c) => next<Done>(c));
    for (const child of children) child.send({ startAt, issueUntil });
    const results = await Promise.all(done);
    return {
      admitted: results.reduce((n, r) => n + r.admitted, 0),
      refused: results.reduce((n, r) => n + r.refused, 0),
      errors: results.reduce((n, r) => n + r.errors, 0),
      startAt,
      lastAnswerAt: Math.max(...results.map((r) => r.lastAnswerAt)),
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}
