import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** The port a server started by `node bench/http/server.ts <variant>` prints once it listens. */
export async function listeningPort(child: ChildProcess, variant: string): Promise<number> {
  const [line] = (await Promise.race([
    once(child.stdout!, 'data'),
    once(child, 'exit').then(() => {
      throw new Error(`bench: the ${variant} server exited before it listened`);
    }),
  ])) as [Buffer];
  return (JSON.parse(String(line)) as { port: number }).port;
}
