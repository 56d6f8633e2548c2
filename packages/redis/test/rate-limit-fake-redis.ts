import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * Just enough of an ioredis client for the rate-limit store's client-side logic (batching,
 * deadlines, fallbacks) on a manual clock: a status, 'ready', PING, and EVALSHA / EVAL of the
 * bucket scripts computed here in JS on a clock of its own. What Redis does is tested on Redis.
 */
export class FakeRedis extends EventEmitter {
  status = 'ready';
  isCluster = false;
  /** 'answer' | 'hang' (never answers) | an Error to reply with. */
  mode: 'answer' | 'hang' | Error = 'answer';
  now = 1_000_000;
  scriptLoaded = true;
  readonly calls: Array<{ command: 'evalsha' | 'eval'; keys: string[]; args: string[] }> = [];
  readonly tats = new Map<string, number>();
  readonly hanging: Pending[] = [];

  asClient(): Redis {
    return this as unknown as Redis;
  }

  duplicate(): never {
    throw new Error('not needed by the rate-limit store');
  }

  ping(): Promise<string> {
    return this.mode === 'answer' ? Promise.resolve('PONG') : new Promise(() => {});
  }

  evalsha(_sha: string, n: number, ...rest: string[]): Promise<unknown> {
    this.calls.push({ command: 'evalsha', keys: rest.slice(0, n), args: rest.slice(n) });
    if (!this.scriptLoaded && this.mode === 'answer') {
      return Promise.reject(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    }
    return this.reply(rest.slice(0, n), rest.slice(n));
  }

  eval(_script: string, n: number, ...rest: string[]): Promise<unknown> {
    this.calls.push({ command: 'eval', keys: rest.slice(0, n), args: rest.slice(n) });
    this.scriptLoaded = true;
    return this.reply(rest.slice(0, n), rest.slice(n));
  }

  private reply(keys: string[], args: string[]): Promise<unknown> {
    if (this.mode === 'hang') {
      return new Promise((resolve, reject) => this.hanging.push({ resolve, reject }));
    }
    if (this.mode instanceof Error) return Promise.reject(this.mode);
    const codes = keys.map((key, i) =>
      this.take(key, Number(args[2 * i]), Number(args[2 * i + 1])),
    );
    return Promise.resolve(keys.length === 1 ? codes[0] : codes);
  }

  private take(key: string, increment: number, tolerance: number): number {
    const tat = this.tats.get(key) ?? this.now;
    const backlog = Math.max(tat - this.now, 0);
    const after = backlog + increment;
    const micros = Math.ceil(backlog * 1000);
    if (after > tolerance) return -1 - micros;
    this.tats.set(key, this.now + after);
    return micros;
  }
}
