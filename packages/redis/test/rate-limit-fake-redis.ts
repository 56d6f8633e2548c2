import type { Redis } from 'ioredis';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Just enough of an ioredis client for the rate-limit store: a status, EVALSHA and EVAL of the
 * bucket script, computed here in JS on a clock of its own, and a switch to stop answering.
 */
export class FakeRedis {
  status = 'ready';
  /** 'answer' | 'hang' (never answers) | an Error to reply with. */
  mode: 'answer' | 'hang' | Error = 'answer';
  now = 1_000_000;
  scriptLoaded = false;
  readonly calls: Array<{ command: 'evalsha' | 'eval'; key: string; args: string[] }> = [];
  readonly tats = new Map<string, number>();
  readonly hanging: Pending[] = [];

  asClient(): Redis {
    return this as unknown as Redis;
  }

  evalsha(_sha: string, _keys: number, key: string, ...args: string[]): Promise<unknown> {
    this.calls.push({ command: 'evalsha', key, args });
    if (!this.scriptLoaded && this.mode === 'answer') {
      return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    }
    return this.reply(key, args);
  }

  eval(_script: string, _keys: number, key: string, ...args: string[]): Promise<unknown> {
    this.calls.push({ command: 'eval', key, args });
    this.scriptLoaded = true;
    return this.reply(key, args);
  }

  private reply(key: string, args: string[]): Promise<unknown> {
    const [increment, tolerance] = args.map(Number) as [number, number];
    if (this.mode === 'hang') {
      return new Promise((resolve, reject) => this.hanging.push({ resolve, reject }));
    }
    if (this.mode instanceof Error) return Promise.reject(this.mode);
    const tat = this.tats.get(key) ?? this.now;
    const backlog = Math.max(tat - this.now, 0);
    const after = backlog + increment;
    const micros = Math.ceil(backlog * 1000);
    if (after > tolerance) return Promise.resolve(-1 - micros);
    this.tats.set(key, this.now + after);
    return Promise.resolve(micros);
  }
}
