import { Writable } from 'node:stream';
import { fallback, pipeline } from '@bulwark/core';
import { logPolicyEvents } from '@bulwark/pino';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

function capture(level = 'trace') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

const failing = async () => {
  throw new Error('upstream down');
};

describe('logPolicyEvents', () => {
  it('logs an event of a policy nested in a pipeline as one structured line', async () => {
    const { logger, lines } = capture();
    const policy = pipeline(pipeline(fallback({ value: 'cached' })));
    logPolicyEvents(policy, logger);
    await policy.execute(failing);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      policy: 'fallback',
      event: 'fallback',
      msg: 'fallback fallback',
      err: { message: 'upstream down', type: 'Error' },
    });
  });

  it('uses the level given for an event type, and drops silent ones', async () => {
    const { logger, lines } = capture();
    const policy = fallback({ value: 1 });
    const stop = logPolicyEvents(policy, logger, { levels: { fallback: 'error' } });
    await policy.execute(failing);
    expect(lines[0]?.level).toBe(50);
    stop();
    logPolicyEvents(policy, logger, { levels: { fallback: 'silent' } });
    await policy.execute(failing);
    expect(lines).toHaveLength(1);
  });

  it('skips levels the logger has turned off', async () => {
    const { logger, lines } = capture('warn');
    const policy = fallback({ value: 1 });
    logPolicyEvents(policy, logger);
    await policy.execute(failing);
    expect(lines).toHaveLength(0);
  });

  it('stops logging when the returned function is called', async () => {
    const { logger, lines } = capture();
    const policy = fallback({ value: 1 });
    const stop = logPolicyEvents(policy, logger);
    stop();
    await policy.execute(failing);
    expect(lines).toHaveLength(0);
  });

  it('names bad arguments', () => {
    const { logger } = capture();
    expect(() => logPolicyEvents({} as never, logger)).toThrow(/policy must be a bulwark policy/);
    expect(() => logPolicyEvents(fallback({ value: 1 }), console as never)).not.toThrow();
    expect(() => logPolicyEvents(fallback({ value: 1 }), {} as never)).toThrow(
      /logger must be a pino logger/,
    );
    expect(() =>
      logPolicyEvents(fallback({ value: 1 }), logger, { levels: { open: 'loud' as never } }),
    ).toThrow(
      /levels.open must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/,
    );
  });
});
