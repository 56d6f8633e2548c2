/** A record of the memory store, linked into one of its two lists. */
export interface MemoryEntry {
  readonly key: string;
  fingerprint: string;
  token: number;
  leaseUntil: number;
  expiresAt: number;
  /** Set once completed. */
  result: string | undefined;
  prev: MemoryEntry | undefined;
  next: MemoryEntry | undefined;
}

/**
 * An intrusive doubly linked list: O(1) push, remove and head, with no allocation. (A Map used as
 * an LRU makes eviction scan the holes its deletions leave at the front: microseconds per call.)
 */
export class EntryList {
  head: MemoryEntry | undefined;
  private tail: MemoryEntry | undefined;

  push(entry: MemoryEntry): void {
    entry.prev = this.tail;
    entry.next = undefined;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
  }

  remove(entry: MemoryEntry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
  }

  /** Moves `entry` to the tail: the most recently used. */
  touch(entry: MemoryEntry): void {
    if (this.tail === entry) return;
    this.remove(entry);
    this.push(entry);
  }
}
