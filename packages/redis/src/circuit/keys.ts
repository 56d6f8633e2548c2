import { hashTagKey } from '../shared/keys.js';

/** The Redis key of a circuit: `prefix{name}`, one slot per circuit on Redis Cluster. */
export function circuitKey(prefix: string, name: string): string {
  return hashTagKey(prefix, name);
}

/** The pub/sub channel of a circuit's changes (the write script publishes on it). */
export function circuitChannel(key: string): string {
  return `${key}:changes`;
}
