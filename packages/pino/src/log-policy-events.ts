import type { Policy, PolicyEvent } from '@bulwark/core';
import { defaultLevels, type LogLevel } from './levels.js';

/** The part of a pino logger this package uses, so any pino version (or a child logger) fits. */
export interface PinoLike {
  isLevelEnabled?(level: string): boolean;
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal(obj: object, msg?: string): void;
}

export interface LogPolicyEventsOptions {
  /** Level per event type, over the defaults; `'silent'` drops the type. */
  levels?: Record<string, LogLevel>;
  /** Level of event types with no level of their own; default `'info'`. */
  defaultLevel?: LogLevel;
}

const LEVELS = new Set<LogLevel>(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

function checkLevel(where: string, level: unknown): LogLevel {
  if (!LEVELS.has(level as LogLevel)) {
    throw new RangeError(
      `logPolicyEvents: ${where} must be one of ${[...LEVELS].join(', ')}, got ${JSON.stringify(level)}`,
    );
  }
  return level as LogLevel;
}

/** The event as a log object: `error` goes under `err`, where pino's serializer expects it. */
function logObject(event: PolicyEvent): Record<string, unknown> {
  const { policy, type, error, ...detail } = event;
  const line: Record<string, unknown> = { policy, event: type, ...detail };
  if (error !== undefined) line.err = error;
  return line;
}

/**
 * Logs every event of `policy` — and of every policy inside it — as one structured line:
 * `{ policy: 'payments', event: 'open', failureRate: 0.6 }` with the message `payments open`.
 * Returns the function that stops logging.
 */
export function logPolicyEvents(
  policy: Policy,
  logger: PinoLike,
  options?: LogPolicyEventsOptions,
): () => void {
  if (typeof policy?.on !== 'function') {
    throw new TypeError('logPolicyEvents: policy must be a bulwark policy (with on(listener))');
  }
  if (typeof logger?.info !== 'function' || typeof logger.warn !== 'function') {
    throw new TypeError(
      'logPolicyEvents: logger must be a pino logger (with info, warn, error...)',
    );
  }
  const levels: Record<string, LogLevel> = { ...defaultLevels };
  for (const [type, level] of Object.entries(options?.levels ?? {}))
    levels[type] = checkLevel(`levels.${type}`, level);
  const fallbackLevel = checkLevel('defaultLevel', options?.defaultLevel ?? 'info');

  return policy.on((event) => {
    const level = levels[event.type] ?? fallbackLevel;
    if (level === 'silent' || logger.isLevelEnabled?.(level) === false) return;
    logger[level](logObject(event), `${event.policy} ${event.type}`);
  });
}
