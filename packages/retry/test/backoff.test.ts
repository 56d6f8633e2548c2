import { constant, exponential, type Jitter } from '@bulwark/retry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** Delays a backoff gives for attempts 1..n, each fed the previous one, as retry does. */
function delays(backoff: (attempt: number, previousMs: number) => number, n: number): number[] {
  const out: number[] = [];
  let previous = 0;
  for (let attempt = 1; attempt <= n; attempt++) out.push((previous = backoff(attempt, previous)));
  return out;
}

const fixed = (value: number) => () => value;

describe('constant', () => {
  it('waits the same delay before every retry', () => {
    expect(delays(constant(250), 4)).toEqual([250, 250, 250, 250]);
  });

  it('accepts 0 for an immediate retry', () => {
    expect(delays(constant(0), 2)).toEqual([0, 0]);
  });
});

describe('exponential', () => {
  it('doubles from 100 ms by default, without jitter when asked', () => {
    expect(delays(exponential({ jitter: 'none' }), 5)).toEqual([100, 200, 400, 800, 1600]);
  });

  it('grows by factor and stops at maxMs', () => {
    const backoff = exponential({ initialMs: 10, factor: 3, maxMs: 500, jitter: 'none' });
    expect(delays(backoff, 6)).toEqual([10, 30, 90, 270, 500, 500]);
  });

  it('stays at maxMs for attempts far past overflow', () => {
    expect(exponential({ jitter: 'none' })(5_000, 0)).toBe(30_000);
  });

  it('draws full jitter uniformly in [0, delay]', () => {
    const backoff = exponential({ jitter: 'full', random: fixed(0.25) });
    expect(delays(backoff, 3)).toEqual([25, 50, 100]);
  });

  it('uses full jitter by default', () => {
    expect(exponential({ random: fixed(0.5) })(3, 0)).toBe(200);
  });

  it('draws equal jitter in [delay / 2, delay]', () => {
    expect(exponential({ jitter: 'equal', random: fixed(0) })(2, 0)).toBe(100);
    expect(exponential({ jitter: 'equal', random: fixed(0.5) })(2, 0)).toBe(150);
  });

  it('draws decorrelated jitter in [initialMs, previous x 3], starting from initialMs', () => {
    const top = exponential({ jitter: 'decorrelated', random: fixed(0.999999), maxMs: 1e6 });
    const [a, b, c] = delays(top, 3) as [number, number, number];
    expect(a).toBeCloseTo(300, 2);
    expect(b).toBeCloseTo(900, 1);
    expect(c).toBeCloseTo(2700, 0);
    const bottom = exponential({ jitter: 'decorrelated', random: fixed(0) });
    expect(delays(bottom, 3)).toEqual([100, 100, 100]);
  });

  it('caps decorrelated jitter at maxMs', () => {
    const backoff = exponential({ jitter: 'decorrelated', random: fixed(0.99), maxMs: 1_000 });
    expect(delays(backoff, 6).at(-1)).toBe(1_000);
  });

  it('keeps every delay within its jitter’s bounds, for any options and attempt', () => {
    const options = fc
      .record({
        initialMs: fc.double({ min: 0.001, max: 1e6, noNaN: true }),
        spread: fc.double({ min: 1, max: 1e4, noNaN: true }),
        factor: fc.double({ min: 1, max: 10, noNaN: true }),
        jitter: fc.constantFrom<Jitter>('full', 'equal', 'decorrelated', 'none'),
      })
      .map(({ spread, ...o }) => ({ ...o, maxMs: o.initialMs * spread }));
    const draws = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
      minLength: 1,
      maxLength: 60,
    });
    const firstAttempt = fc.oneof(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 1e6 }),
    );
    fc.assert(
      fc.property(options, draws, firstAttempt, (o, randoms, start) => {
        const { initialMs, maxMs, factor, jitter } = o;
        let i = 0;
        const random = () => randoms[i++ % randoms.length]!;
        const backoff = exponential({ initialMs, maxMs, factor, jitter, random });
        let previous = 0;
        for (let attempt = start; attempt < start + randoms.length; attempt++) {
          const nominal = Math.min(maxMs, initialMs * factor ** (attempt - 1));
          const d = backoff(attempt, previous);
          expect(Number.isFinite(d)).toBe(true);
          if (jitter === 'none') expect(d).toBe(nominal);
          if (jitter === 'full') expect(d >= 0 && d <= nominal).toBe(true);
          if (jitter === 'equal') expect(d >= nominal / 2 && d <= nominal).toBe(true);
          if (jitter === 'decorrelated') {
            expect(d >= initialMs && d <= maxMs).toBe(true);
            expect(d <= Math.max(previous, initialMs) * 3).toBe(true);
          }
          previous = d;
        }
      }),
    );
  });
});
