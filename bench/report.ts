import type { CaseResult, HttpCaseResult, SuiteResult, Target } from './suite.ts';

function ns(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} ms`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)} µs`;
  return `${value.toFixed(value < 100 ? 1 : 0)} ns`;
}

function opsPerSecond(nsPerOp: number): string {
  const ops = 1e9 / nsPerOp;
  if (ops >= 1e6) return `${(ops / 1e6).toFixed(2)} M`;
  if (ops >= 1e3) return `${(ops / 1e3).toFixed(1)} k`;
  return ops.toFixed(0);
}

/** What a case adds to the bare call: paired by round when the run recorded it. */
function overheadOf(result: CaseResult, bare: CaseResult): number {
  return result.overheadNs ?? result.nsPerOp - bare.nsPerOp;
}

function verdict(result: CaseResult, all: CaseResult[], bare: CaseResult | undefined): string {
  const target: Target | undefined = result.target;
  if (!target) return '';
  if ('maxOverheadNs' in target) {
    if (!bare) return '';
    const overhead = overheadOf(result, bare);
    return `≤ ${target.maxOverheadNs} ns over bare: ${overhead <= target.maxOverheadNs ? 'met' : 'MISSED'}`;
  }
  const other = all.find((c) => c.name === target.atLeastTimesFasterThan);
  if (!other) return '';
  const ratio = other.nsPerOp / result.nsPerOp;
  return `≥ ${target.ratio}x ${other.name}: ${ratio >= target.ratio ? 'met' : 'MISSED'} (${ratio.toFixed(2)}x)`;
}

/** The HTTP suite: requests per second, what each middleware costs of its bare framework's. */
function httpSection(suite: SuiteResult, cases: HttpCaseResult[]): string {
  const lines = [
    `## ${suite.title}`,
    '',
    suite.about,
    '',
    `Measured ${suite.date} on ${suite.machine}, Node ${suite.node}.`,
    '',
    '| case | req/s (median) | p50 | p99 | throughput cost vs bare | server CPU / request | CPU cost vs bare | own code, share of server CPU | instructions / request | instruction cost vs bare | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const percent = (value: number | undefined) =>
    value === undefined ? '' : `${(value * 100).toFixed(1)}%`;
  for (const c of cases) {
    const bare = cases.find((b) => b.name === c.bare);
    const cost =
      c.costVsBare ?? (bare ? 1 - c.requestsPerSecond / bare.requestsPerSecond : undefined);
    const peers = cases.filter((p) => p.kind === 'peer' && p.bare === c.bare);
    let target = '';
    if (c.kind === 'ours' && cost !== undefined && c.name.includes('rateLimit')) {
      const beats = peers.every((p) =>
        p.costVsBare !== undefined && c.costVsBare !== undefined
          ? c.costVsBare < p.costVsBare
          : c.requestsPerSecond > p.requestsPerSecond,
      );
      target = `≤ 5% of bare throughput: ${cost <= 0.05 ? 'met' : 'MISSED'}; beats ${peers.map((p) => p.name).join(', ')}: ${beats ? 'yes' : 'NO'}`;
    }
    const label =
      c.kind === 'ours' ? `**${c.name}**` : c.kind === 'reference' ? `_${c.name}_` : c.name;
    const failures = c.errors + c.non2xx > 0 ? ` (${c.errors} errors, ${c.non2xx} non-2xx)` : '';
    const cpu = c.cpuUsPerRequest === undefined ? '' : `${c.cpuUsPerRequest.toFixed(1)} µs`;
    lines.push(
      `| ${label}${failures} | ${c.requestsPerSecond.toFixed(0)} | ${c.p50Ms} ms | ${c.p99Ms} ms | ${percent(cost)} | ${cpu} | ${percent(c.cpuCostVsBare)} | ${percent(c.ownCpuShare)} | ${c.instructionsPerRequest?.toFixed(0) ?? ''} | ${percent(c.instructionCostVsBare)} | ${target} |`,
    );
  }
  return lines.join('\n');
}

function baselineNote(suite: SuiteResult): string[] {
  const b = suite.baseline;
  if (b === undefined) return [];
  return [
    `The "before" columns are the figures committed at ${b.ref}, measured ${b.date} on ${b.machine}, Node ${b.node}.`,
  ];
}

/** One suite as a Markdown section: figures per operation, overhead over the bare call, peers' ratio. */
export function suiteSection(suite: SuiteResult): string {
  if (suite.http) return httpSection(suite, suite.http);
  const bare = suite.cases.find((c) => c.kind === 'bare');
  const ours = suite.cases.filter((c) => c.kind === 'ours');
  const lines = [
    `## ${suite.title}`,
    '',
    suite.about,
    '',
    `Measured ${suite.date} on ${suite.machine}, Node ${suite.node}.`,
    ...baselineNote(suite),
    '',
    `| case | time/op (avg) | p50 | p99 | ops/s | over bare | x bare |${suite.baseline ? ' before: time/op | before: over bare |' : ''} target |`,
    `|---|---:|---:|---:|---:|---:|---:|${suite.baseline ? '---:|---:|' : ''}---|`,
  ];
  const oldBare = suite.baseline?.cases.find((c) => c.name === bare?.name);
  for (const c of suite.cases) {
    const label =
      c.kind === 'ours' ? `**${c.name}**` : c.kind === 'bare' ? `${c.name} (bare)` : c.name;
    const over = bare && c !== bare ? ns(overheadOf(c, bare)) : '';
    const times = bare && c !== bare ? `${(c.nsPerOp / bare.nsPerOp).toFixed(2)}` : '';
    let before = '';
    if (suite.baseline) {
      const old = suite.baseline.cases.find((b) => b.name === c.name);
      const oldOver =
        old && oldBare && c !== bare ? ns(old.overheadNs ?? old.nsPerOp - oldBare.nsPerOp) : '';
      before = ` ${old ? ns(old.nsPerOp) : ''} | ${oldOver} |`;
    }
    lines.push(
      `| ${label} | ${ns(c.nsPerOp)} | ${ns(c.p50NsPerOp)} | ${ns(c.p99NsPerOp)} | ${opsPerSecond(c.nsPerOp)} | ${over} | ${times} |${before} ${verdict(c, suite.cases, bare)} |`,
    );
  }
  const peers = suite.cases.filter((c) => c.kind === 'peer');
  if (ours.length > 0 && peers.length > 0) {
    lines.push('', 'Peers against ours (how many times slower the peer is per operation):', '');
    for (const peer of peers) {
      const ratios = ours
        .map((o) => `${(peer.nsPerOp / o.nsPerOp).toFixed(1)}x ${o.name}`)
        .join(', ');
      lines.push(`- ${peer.name}: ${ratios}`);
    }
  }
  return lines.join('\n');
}

export function resultsPage(suites: SuiteResult[]): string {
  return [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (mitata, Node 24, every case in one process beside the bare call it',
    'wraps, and each suite in a process of its own). Each section keeps the machine and Node',
    'version it was measured on. Times are per operation: after a warm-up round through the same',
    'harness, the cases run round-robin for 5 rounds (every other one in reverse order), and each',
    'figure is the median over rounds. "over bare" is what the policy adds to the call it protects:',
    'the median over rounds of (the case - the bare call in the same round), so both are measured in',
    'the same JIT and GC state. Re-run one suite with `npm run bench -- <suite id>`. On a shared',
    '2-core VM the same case moves by up to ±20% from one run to the next (the bare call too):',
    'compare cases within a section, which ran together.',
    '',
    ...suites.map((s) => `${suiteSection(s)}\n`),
  ].join('\n');
}
