import { decorrelatedJitter, equalJitter, fullJitter } from './jitter.js';
import {
  type Backoff,
  constantMs,
  type ExponentialOptions,
  resolveExponentialOptions,
} from './options.js';

/** The same delay before every retry. */
export function constant(ms: number): Backoff {
  const delay = constantMs(ms);
  return () => delay;
}

/**
 * initialMs x factor^(attempt - 1), capped at maxMs, then jittered. 'decorrelated' grows from
 * the previous delay instead (AWS's "decorrelated jitter"), so it ignores `factor`.
 */
export function exponential(options?: ExponentialOptions): Backoff {
  const { initialMs, maxMs, factor, jitter, random } = resolveExponentialOptions(options);
  const nominal = (attempt: number) => Math.min(maxMs, initialMs * factor ** (attempt - 1));
  switch (jitter) {
    case 'none':
      return nominal;
    case 'full':
      return (attempt) => fullJitter(nominal(attempt), random);
    case 'equal':
      return (attempt) => equalJitter(nominal(attempt), random);
    case 'decorrelated':
      return (_attempt, previousMs) => decorrelatedJitter(previousMs, initialMs, maxMs, random);
  }
}
