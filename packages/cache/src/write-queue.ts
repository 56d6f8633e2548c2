/**
 * The writes a write-behind cache owes its source, one per key, the latest value winning.
 * `queued` holds values not yet sent; `retrying` the values of failed batches that no later
 * `set` replaced; `batch` the batch being written. A key set again while its batch is in
 * flight sits in `queued` too, so a failure of the old batch never overwrites the new value.
 */
export class WriteQueue {
  readonly queued = new Map<string, unknown>();
  readonly retrying = new Map<string, unknown>();
  batch: Map<string, unknown> | undefined;

  /** Keys owed to the source; a key both in flight and queued again counts twice. */
  get size(): number {
    return this.queued.size + this.retrying.size + (this.batch?.size ?? 0);
  }

  /** True when queueing `key` adds one to `size` (rather than replacing a queued value). */
  grows(key: string): boolean {
    return !this.queued.has(key) && !this.retrying.has(key);
  }

  add(key: string, value: unknown): void {
    this.retrying.delete(key);
    this.queued.set(key, value);
  }

  /** The latest value owed for `key`, if any: what a read must see before the source has it. */
  latest(key: string): { value: unknown } | undefined {
    if (this.queued.has(key)) return { value: this.queued.get(key) };
    if (this.retrying.has(key)) return { value: this.retrying.get(key) };
    if (this.batch?.has(key)) return { value: this.batch.get(key) };
    return undefined;
  }

  /** Takes up to `max` entries into a new in-flight batch, failed ones first. */
  take(max: number): Map<string, unknown> | undefined {
    if (this.batch !== undefined || this.queued.size + this.retrying.size === 0) return undefined;
    const batch = new Map<string, unknown>();
    for (const source of [this.retrying, this.queued]) {
      for (const [key, value] of source) {
        if (batch.size >= max) break;
        batch.set(key, value);
        source.delete(key);
      }
    }
    this.batch = batch;
    return batch;
  }

  succeeded(): void {
    this.batch = undefined;
  }

  /** Puts a failed batch back, except the keys set again since: their newer value wins. */
  failed(): void {
    const batch = this.batch;
    this.batch = undefined;
    if (batch === undefined) return;
    for (const [key, value] of batch) if (!this.queued.has(key)) this.retrying.set(key, value);
  }
}
