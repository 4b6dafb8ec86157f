/**
 * A map that forgets its oldest entry beyond `capacity` (first in, first out). It backs read-through caches in
 * front of a store, where an entry is hot for the few milliseconds of one procedure (the four Cx requests of a
 * registration read one subscription a dozen times) and cold after: FIFO keeps that hot set without the cost of
 * reordering on every read, and the bound keeps memory flat whatever the subscriber count.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`cache capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  set(key: K, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
