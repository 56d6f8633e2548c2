/**
 * Instructions a server executes per request, counted by valgrind's callgrind. Requests per
 * second on a shared 2-core VM move by 5-10% from one run to the next, as much as the costs the
 * HTTP targets are about; an instruction count moves by 1-2% (the JIT's choices), whatever else
 * the machine is doing. It counts the server process's user-space code only: the kernel's share
 * of a loopback request (a fifth of its CPU time here) is left out, so a cost measured this way
 * reads a little higher than the same cost in CPU time.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listeningPort } from './listening.ts';

/** Requests before counting: enough for the JIT to have optimised the request path. */
const warmUpRequests = 20_000;
const countedRequests = 5_000;

/** True where valgrind and callgrind_control are installed. */
export function canCountInstructions(): boolean {
  return (
    spawnSync('valgrind', ['--version']).status === 0 &&
    spawnSync('callgrind_control', ['--version']).status === 0
  );
}

/**
 * Starts `serverPath variant` under callgrind with instrumentation off, sends `warmUpRequests`,
 * turns instrumentation on, sends `countedRequests`, dumps the counters and stops the server.
 * `send(port, amount)` sends that many requests and resolves how many were answered.
 */
export async function instructionsPerRequest(
  serverPath: string,
  variant: string,
  send: (port: number, amount: number) => Promise<number>,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-callgrind-'));
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--log-file=${join(dir, 'valgrind.log')}`,
      `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
      process.execPath,
      serverPath,
      variant,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const port = await listeningPort(child, variant);
    await send(port, warmUpRequests);
    control('-i', 'on', child.pid!);
    const answered = await send(port, countedRequests);
    control('-d', undefined, child.pid!);
    return dumpedInstructions(dir) / answered;
  } finally {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
}

function control(flag: string, value: string | undefined, pid: number): void {
  const args = value === undefined ? [flag, String(pid)] : [flag, value, String(pid)];
  const result = spawnSync('callgrind_control', args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `callgrind_control ${args.join(' ')} failed: ${result.stderr || result.stdout}`,
    );
  }
}

/** The instructions in the dump `callgrind_control -d` wrote (its `totals:` line). */
function dumpedInstructions(dir: string): number {
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.startsWith('callgrind.out'))) {
    const match = /^totals: (\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    if (match) total = Math.max(total, Number(match[1]));
  }
  if (total === 0) throw new Error(`callgrind wrote no counts in ${dir}`);
  return total;
}
