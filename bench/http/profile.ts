/**
 * What share of a server's CPU a middleware's own code takes, from a CPU profile of the server
 * under load. Throughput on a shared 2-core VM moves by more than 5% from one process to the
 * next; a profile counts where the time of one process goes, so it resolves a few percent.
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/**
 * The frames where a middleware hands the request on (Express' router, Fastify's hook runner):
 * what runs below one of them is the rest of the request, not the middleware.
 */
function isHandOn(frame: ProfileNode['callFrame']): boolean {
  return (
    frame.functionName === 'next' &&
    (frame.url.includes('/router/') || frame.url.includes('/fastify/lib/hooks'))
  );
}

/**
 * The share of busy samples (idle time and V8's unattributed `(program)` left out) whose stack reaches code
 * under `mark` (a path fragment: `/packages/`, `/express-rate-limit/`) before it reaches a
 * hand-on frame.
 */
export function ownShare(profile: Profile, mark: string): number {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  let busy = 0;
  let own = 0;
  for (const sample of profile.samples) {
    const leaf = byId.get(sample)!;
    if (leaf.callFrame.functionName === '(idle)' || leaf.callFrame.functionName === '(program)')
      continue;
    busy++;
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (isHandOn(frame)) break;
      if (frame.url.includes(mark)) {
        own++;
        break;
      }
    }
  }
  return busy === 0 ? 0 : own / busy;
}

/** Profiles this process between start() and stop(). */
export async function startProfiling(): Promise<{ stop(): Promise<Profile> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await session.post('Profiler.stop')) as unknown as {
        profile: Profile;
      };
      session.disconnect();
      return profile;
    },
  };
}
