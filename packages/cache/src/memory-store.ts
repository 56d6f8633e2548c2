import { checkKey, checkTag } from './keys.js';
import { type MemoryCacheStoreOptions, memoryStoreOptions } from './options.js';
import type { CacheEntry, CacheStore } from './store.js';

interface Node {
  readonly key: string;
  entry: CacheEntry;
  size: number;
  prev: Node | undefined;
  next: Node | undefined;
}

/**
 * An LRU of entries in this process. Entries are kept by reference: a caller that mutates a
 * value it got mutates the cached one (pass `clone` to copy on the way in and out).
 */
export class MemoryCacheStore implements CacheStore {
  private readonly nodes = new Map<string, Node>();
  private readonly byTag = new Map<string, Set<string>>();
  /** Most recently used. */
  private head: Node | undefined;
  /** Least recently used: evicted first. */
  private tail: Node | undefined;
  private totalBytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly sizeOf: ((value: unknown, key: string) => number) | undefined;
  private readonly clone: (<V>(value: V) => V) | undefined;

  constructor(options?: MemoryCacheStoreOptions) {
    const o = memoryStoreOptions(options);
    this.maxEntries = o.maxEntries;
    this.maxBytes = o.maxBytes;
    this.sizeOf = o.sizeOf;
    this.clone = o.clone;
  }

  /** Entries held, expired ones not yet dropped included. */
  get size(): number {
    return this.nodes.size;
  }

  /** The sum of `sizeOf` over the entries held (0 without `sizeOf`). */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Tags with at least one entry: bounded by the entries held. */
  get tagCount(): number {
    return this.byTag.size;
  }

  get(key: string, now: number): CacheEntry | undefined {
    const node = this.nodes.get(key);
    if (node === undefined) return undefined;
    const entry = node.entry;
    // No timer per entry: an expired one is dropped when it is next read (or evicted).
    if (!(now < entry.staleUntil)) {
      this.remove(node);
      return undefined;
    }
    if (node !== this.head) this.toFront(node);
    return this.clone === undefined ? entry : { ...entry, value: this.clone(entry.value) };
  }

  set(key: string, entry: CacheEntry, now: number): void {
    checkKey('memoryCacheStore.set', key);
    if (entry.tags !== undefined)
      for (const tag of entry.tags) checkTag('memoryCacheStore.set', tag);
    const stored = this.clone === undefined ? entry : { ...entry, value: this.clone(entry.value) };
    const size = this.sizeOf === undefined ? 0 : this.measure(stored.value, key);
    const old = this.nodes.get(key);
    if (old !== undefined) this.remove(old);
    if (!(now < entry.staleUntil) || size > this.maxBytes) return;
    const node: Node = { key, entry: stored, size, prev: undefined, next: undefined };
    this.nodes.set(key, node);
    this.totalBytes += size;
    this.link(node);
    if (stored.tags !== undefined) for (const tag of stored.tags) this.tag(tag, key);
    // One look at the coldest entry per write drains dead entries without a sweep.
    const coldest = this.tail;
    if (coldest !== undefined && coldest !== node && !(now < coldest.entry.staleUntil)) {
      this.remove(coldest);
    }
    while (this.nodes.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      this.remove(this.tail!);
    }
  }

  delete(key: string): void {
    const node = this.nodes.get(key);
    if (node !== undefined) this.remove(node);
  }

  deleteByTag(tag: string): void {
    const keys = this.byTag.get(tag);
    if (keys === undefined) return;
    for (const key of keys) this.delete(key);
    this.byTag.delete(tag);
  }

  clear(): void {
    this.nodes.clear();
    this.byTag.clear();
    this.head = this.tail = undefined;
    this.totalBytes = 0;
  }

  private measure(value: unknown, key: string): number {
    const size = this.sizeOf!(value, key);
    if (typeof size !== 'number' || !(size >= 0) || !Number.isFinite(size)) {
      throw new TypeError(
        `memoryCacheStore: sizeOf must return a finite number >= 0, got ${String(size)} for key ${JSON.stringify(key)}`,
      );
    }
    return size;
  }

  private tag(tag: string, key: string): void {
    const keys = this.byTag.get(tag);
    if (keys === undefined) this.byTag.set(tag, new Set([key]));
    else keys.add(key);
  }

  private remove(node: Node): void {
    this.nodes.delete(node.key);
    this.totalBytes -= node.size;
    this.unlink(node);
    const tags = node.entry.tags;
    if (tags === undefined) return;
    // The tag index follows evictions, so it never holds keys that are gone.
    for (const tag of tags) {
      const keys = this.byTag.get(tag);
      if (keys === undefined) continue;
      keys.delete(node.key);
      if (keys.size === 0) this.byTag.delete(tag);
    }
  }

  private link(node: Node): void {
    node.prev = undefined;
    node.next = this.head;
    if (this.head !== undefined) this.head.prev = node;
    this.head = node;
    if (this.tail === undefined) this.tail = node;
  }

  private unlink(node: Node): void {
    if (node.prev !== undefined) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next !== undefined) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = node.next = undefined;
  }

  private toFront(node: Node): void {
    this.unlink(node);
    this.link(node);
  }
}

/** The default store: an LRU bounded by `maxEntries` (and `maxBytes` with `sizeOf`). */
export function memoryCacheStore(options?: MemoryCacheStoreOptions): MemoryCacheStore {
  return new MemoryCacheStore(options);
}
