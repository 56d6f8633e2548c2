/**
 * A flaky dependency simulated in-process. Its behaviour follows a script of phases laid over
 * the run: healthy, latency spikes, error bursts, a full outage where calls hang until they
 * fail, then recovery.
 */
export type PhaseName = 'healthy' | 'latency spikes' | 'error bursts' | 'outage' | 'recovered';

interface Phase {
  name: PhaseName;
  /** Share of the run this phase lasts. */
  share: number;
}

const script: Phase[] = [
  { name: 'healthy', share: 0.15 },
  { name: 'latency spikes', share: 0.15 },
  { name: 'error bursts', share: 0.2 },
  { name: 'outage', share: 0.25 },
  { name: 'recovered', share: 0.25 },
];

export class DownstreamError extends Error {
  override name = 'DownstreamError';
}

export class Downstream {
  /** Calls that reached the dependency while it was down: load a dying service did not need. */
  callsDuringOutage = 0;
  calls = 0;
  private readonly started = performance.now();

  constructor(private readonly durationMs: number) {}

  phase(): PhaseName {
    let elapsed = (performance.now() - this.started) / this.durationMs;
    for (const phase of script) {
      if (elapsed < phase.share) return phase.name;
      elapsed -= phase.share;
    }
    return 'recovered';
  }

  /** One request: resolves after its latency, or rejects with a DownstreamError. */
  async call(signal?: AbortSignal): Promise<string> {
    this.calls++;
    const phase = this.phase();
    if (phase === 'outage') this.callsDuringOutage++;
    const { latencyMs, fails } = this.behaviour(phase);
    await sleep(latencyMs, signal);
    if (fails) throw new DownstreamError(`downstream failed (${phase})`);
    return 'ok';
  }

  private behaviour(phase: PhaseName): { latencyMs: number; fails: boolean } {
    const jitter = Math.random() * 10;
    switch (phase) {
      case 'latency spikes':
        return {
          latencyMs: Math.random() < 0.2 ? 800 + Math.random() * 700 : 15 + jitter,
          fails: false,
        };
      case 'error bursts':
        return { latencyMs: 15 + jitter, fails: Math.random() < 0.25 };
      case 'outage':
        return { latencyMs: 2_000, fails: true }; // hangs, then the connection times out
      default:
        return { latencyMs: 15 + jitter, fails: Math.random() < 0.01 };
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
