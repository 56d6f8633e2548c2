/** One thing measured: our policy, a peer's, or the bare call both are compared with. */
export interface Case {
  name: string;
  /** Called once an iteration; may return a promise. */
  fn: () => unknown;
  /** `bare` is the baseline of its suite; `ours` and `peer` are compared with it. */
  kind: 'bare' | 'ours' | 'peer';
  /** Operations one call of fn performs (a batch of concurrent takes): figures are per operation. */
  opsPerCall?: number;
  /** The goal for this case, shown beside its figure. */
  target?: Target;
}

export type Target =
  /** Our overhead above the bare call stays under this many nanoseconds. */
  | { maxOverheadNs: number }
  /** At least `ratio` times the throughput of the named case. */
  | { atLeastTimesFasterThan: string; ratio: number };

export interface Suite {
  id: string;
  title: string;
  /** What is measured and how, in a sentence or two. */
  about: string;
  setup?: () => Promise<void> | void;
  cases: Case[];
  teardown?: () => Promise<void> | void;
}

export interface CaseResult {
  name: string;
  kind: Case['kind'];
  nsPerOp: number;
  p50NsPerOp: number;
  p99NsPerOp: number;
  /** Median over rounds of this case's time less the bare call's in the same round. */
  overheadNs?: number;
  target?: Target;
}

export interface SuiteResult {
  id: string;
  title: string;
  about: string;
  machine: string;
  node: string;
  date: string;
  cases: CaseResult[];
  /** Throughput figures of the HTTP suite, in place of per-call times. */
  http?: HttpCaseResult[];
  /** The same suite at an earlier revision (`BENCH_BASELINE`), shown beside these figures. */
  baseline?: {
    ref: string;
    date: string;
    machine: string;
    node: string;
    cases: Array<Pick<CaseResult, 'name' | 'nsPerOp' | 'overheadNs'>>;
  };
}

export interface HttpCaseResult {
  name: string;
  /** `reference`: a middleware for scale (one that does nothing; one that only sets the fields). */
  kind: 'bare' | 'ours' | 'peer' | 'reference';
  /** The bare case this one is compared with. */
  bare?: string;
  requestsPerSecond: number;
  /** Median over rounds of 1 - this round's req/s / its bare case's req/s in the same round. */
  costVsBare?: number;
  /** Median over rounds of the server's CPU time (user + system) per request, in µs. */
  cpuUsPerRequest?: number;
  /** Median over rounds of this round's CPU per request / its bare case's in the same round - 1. */
  cpuCostVsBare?: number;
  /**
   * Median over rounds of the share of the server's busy CPU spent in the middleware's own code,
   * from a CPU profile: samples whose stack reaches that code before the framework's `next`.
   */
  ownCpuShare?: number;
  /** Median over runs of the server's user-space instructions per request (callgrind). */
  instructionsPerRequest?: number;
  /** Median over runs of this run's instructions per request / its bare case's in the same run - 1. */
  instructionCostVsBare?: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}
