/** What the micro-benchmark and HTTP harnesses share about running cases in rounds. */

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median over rounds of `cost(case's figure, bare case's figure)` taken in the same round:
 * both were measured in the same state of the machine, which drifts between rounds.
 */
export function pairedMedian(
  own: readonly number[],
  bare: readonly number[],
  cost: (value: number, bareValue: number) => number,
): number {
  return median(own.map((value, round) => cost(value, bare[round]!)));
}

/** The order of round `round`: every other round backwards, so a drift within a round favours none. */
export function roundOrder<T>(cases: readonly T[], round: number): readonly T[] {
  return round % 2 === 0 ? cases : [...cases].reverse();
}
