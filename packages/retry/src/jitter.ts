/** How a backoff spreads its delays, so clients that failed together do not retry together. */
export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

export const jitters: readonly Jitter[] = ['full', 'equal', 'decorrelated', 'none'];

/** A number in [0, 1), as Math.random gives. */
export type Random = () => number;

/** 'full': uniform in [0, ms]; spreads retries the most (AWS's recommended default). */
export function fullJitter(ms: number, random: Random): number {
  return random() * ms;
}

/** 'equal': ms/2 plus uniform [0, ms/2]; never retries sooner than half the nominal delay. */
export function equalJitter(ms: number, random: Random): number {
  const half = ms / 2;
  return half + random() * half;
}

/**
 * 'decorrelated' (AWS): uniform in [initialMs, previous x 3], capped at maxMs. Each delay grows
 * from the last one drawn rather than from the attempt number.
 */
export function decorrelatedJitter(
  previousMs: number,
  initialMs: number,
  maxMs: number,
  random: Random,
): number {
  const upper = Math.max(previousMs, initialMs) * 3;
  return Math.min(maxMs, initialMs + random() * (upper - initialMs));
}
