import { type CallContext, type InnerTask, PolicyBase, RUN } from '@bulwark/core';

/** A policy that records the order it runs in and emits one event a call. */
export class Recorder extends PolicyBase {
  eventsBuilt = 0;

  constructor(
    name: string,
    private readonly log: string[] = [],
  ) {
    super(name);
  }

  async [RUN]<T>(fn: InnerTask<T>, ctx: CallContext): Promise<T> {
    this.log.push(`${this.name}:in`);
    if (this.listening) {
      this.eventsBuilt++;
      this.emit('call', { attempt: ctx.attempt });
    }
    try {
      return await fn(ctx);
    } finally {
      this.log.push(`${this.name}:out`);
    }
  }
}
