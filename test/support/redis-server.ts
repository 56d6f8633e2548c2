import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Redis servers of the test's own, on free ports, never the shared one on 6379.

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function listen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === 'object' && address ? address.port : undefined),
      );
    });
  });
}

/** A port free now, and (for a cluster node) its bus port, port + 10000, free too. */
export async function freePort(withBusPort = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await listen(0);
    if (port === undefined) continue;
    if (!withBusPort) return port;
    if (port + 10_000 <= 65_535 && (await listen(port + 10_000)) !== undefined) return port;
  }
  throw new Error('no free port found');
}

export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A redis-server process on `port`, in its own temp dir; kill, freeze and start it again. */
export class RedisServer {
  private process: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'bulwark-redis-'));

  constructor(
    readonly port: number,
    private readonly cluster = false,
  ) {}

  static async start(options: { cluster?: boolean } = {}): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort(options.cluster), options.cluster);
      try {
        await server.start();
        return server;
      } catch (error) {
        server.remove();
        if (attempt === 2) throw error;
      }
    }
  }

  async start(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    if (this.cluster) {
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${this.port}.conf`);
      args.push('--cluster-node-timeout', '5000');
    }
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.process = child;
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    await until(`redis-server on ${this.port}`, async () => {
      if (exited) throw new Error(`redis-server on ${this.port} exited`);
      return (await redisCli(this.port, 'ping')) === 'PONG';
    }).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    if (exited) throw new Error(`redis-server on ${this.port} exited`);
  }

  /** Kills the server (no shutdown, no goodbye to clients) and waits until it is gone. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await gone;
  }

  /** Stops the process without closing its connections: clients wait for answers that never come. */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.kill('SIGCONT');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    await this.kill();
    this.remove();
  }
}

/** A local Redis Cluster of `masters` nodes, no replicas. */
export class RedisCluster {
  private constructor(readonly nodes: RedisServer[]) {}

  static async start(masters = 3): Promise<RedisCluster> {
    const nodes: RedisServer[] = [];
    try {
      for (let i = 0; i < masters; i++) nodes.push(await RedisServer.start({ cluster: true }));
      await run('redis-cli', [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      for (const node of nodes) {
        await until(`cluster state ok on ${node.port}`, async () => {
          const info = await redisCli(node.port, 'cluster', 'info');
          return info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384');
        });
      }
      return new RedisCluster(nodes);
    } catch (error) {
      await Promise.all(nodes.map((n) => n.stop()));
      throw error;
    }
  }

  get startupNodes(): Array<{ host: string; port: number }> {
    return this.nodes.map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}
