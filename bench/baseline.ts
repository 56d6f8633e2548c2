import { execFileSync } from 'node:child_process';
import type { SuiteResult } from './suite.ts';

/**
 * `BENCH_BASELINE=<git rev> npm run bench -- <suite>`: the suite's results as committed at that
 * revision ride along with the new ones, so RESULTS.md shows each case before and after a change.
 * Undefined when the variable is unset or the suite had no results there.
 */
export function baselineOf(id: string): SuiteResult['baseline'] {
  const ref = process.env.BENCH_BASELINE;
  if (!ref) return undefined;
  let old: SuiteResult;
  try {
    const json = execFileSync('git', ['show', `${ref}:bench/results/${id}.json`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    old = JSON.parse(json) as SuiteResult;
  } catch {
    return undefined;
  }
  return {
    ref,
    date: old.date,
    machine: old.machine,
    node: old.node,
    cases: old.cases.map(({ name, nsPerOp, overheadNs }) => ({ name, nsPerOp, overheadNs })),
  };
}
