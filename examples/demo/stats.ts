/** What one side of the demo saw: outcomes and latencies. */
export class Tally {
  ok = 0;
  failed = 0;
  private readonly latencies: number[] = [];
  private readonly failureLatencies: number[] = [];
  readonly failures = new Map<string, number>();

  record(latencyMs: number, error?: unknown): void {
    this.latencies.push(latencyMs);
    if (error === undefined) {
      this.ok++;
      return;
    }
    this.failed++;
    this.failureLatencies.push(latencyMs);
    const kind =
      error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'unknown';
    this.failures.set(kind, (this.failures.get(kind) ?? 0) + 1);
  }

  get total(): number {
    return this.ok + this.failed;
  }

  successRate(): string {
    return this.total === 0 ? '-' : `${((100 * this.ok) / this.total).toFixed(1)}%`;
  }

  percentile(p: number): string {
    return percentileOf(this.latencies, p);
  }

  /** How long a caller waited to learn that its call failed. */
  failurePercentile(p: number): string {
    return percentileOf(this.failureLatencies, p);
  }
}

function percentileOf(latencies: number[], p: number): string {
  if (latencies.length === 0) return '-';
  const sorted = [...latencies].sort((a, b) => a - b);
  const value = sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  return `${value.toFixed(0)} ms`;
}
