import { notifyAll } from './listeners.js';
import type { PolicyEvent, PolicyListener } from './policy.js';

/**
 * A policy's listeners, linked to the hubs of the policies that contain it. `listening` is true
 * when this hub or any hub above it has a listener, so a policy builds an event object only
 * when someone will hear it.
 */
export class EventHub {
  listening = false;
  // Plain (not #private) fields: hubs from two copies of this package must link to each other.
  private listeners: PolicyListener[] = [];
  private readonly parents: EventHub[] = [];
  private readonly children: EventHub[] = [];

  /** @param onListening told when `listening` turns true or false, e.g. to subscribe to a store only while heard */
  constructor(private readonly onListening?: (listening: boolean) => void) {}

  listen(listener: PolicyListener): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`on: listener must be a function, got ${typeof listener}`);
    }
    // Copy on write: a listener that unsubscribes while an event is delivered does not skip others.
    this.listeners = [...this.listeners, listener];
    this.refresh();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners = this.listeners.filter((l) => l !== listener);
      this.refresh();
    };
  }

  /** Relays the events of `child` (a policy inside this one) to this hub's listeners. */
  adopt(child: EventHub): void {
    if (child === this || child.parents.includes(this)) return;
    child.parents.push(this);
    this.children.push(child);
    child.refresh();
  }

  emit(event: PolicyEvent): void {
    this.deliver(event, undefined);
  }

  private deliver(event: PolicyEvent, seen: Set<EventHub> | undefined): void {
    if (seen) {
      // A policy reachable by two paths (one policy in two pipelines under a third) hears it once.
      if (seen.has(this)) return;
      seen.add(this);
    }
    notifyAll(this.listeners, event);
    const { parents } = this;
    if (parents.length === 1) parents[0]!.deliver(event, seen);
    else if (parents.length > 1) {
      const visited = seen ?? new Set<EventHub>([this]);
      for (const parent of parents) parent.deliver(event, visited);
    }
  }

  private refresh(): void {
    const listening = this.listeners.length > 0 || this.parents.some((p) => p.listening);
    if (listening === this.listening) return;
    this.listening = listening;
    this.onListening?.(listening);
    for (const child of this.children) child.refresh();
  }
}
