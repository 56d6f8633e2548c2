import type { Cluster, Redis } from 'ioredis';

/** A key prefix no other test run uses. */
export function uniquePrefix(name: string): string {
  return `test:rate-limit:${name}:${process.pid}:${Date.now().toString(36)}:`;
}

/** The keys under `prefix` on one node (SCAN, never KEYS on a shared server). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Deletes the keys under `prefix`, on every master of a cluster. */
export async function deleteKeysUnder(client: Redis | Cluster, prefix: string): Promise<void> {
  const nodes =
    'nodes' in client && typeof client.nodes === 'function'
      ? client.nodes('master')
      : [client as Redis];
  for (const node of nodes) {
    for (const key of await keysUnder(node, prefix)) await node.del(key);
  }
}
