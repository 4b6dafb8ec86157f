/**
 * A map that holds at most `capacity` entries and forgets the oldest ones first. It backs read-through caches in
 * front of a store, where an entry is hot for the few milliseconds of one procedure (the four Cx requests of a
 * registration read one subscription a dozen times) and cold after.
 *
 * Two generations, not one map in insertion order: entries are written to the young one; when it holds half the
 * capacity it becomes the old one and the previous old one is dropped whole. An entry thus lives for at least
 * capacity / 2 later insertions, never more than `capacity` entries are held, and no write walks the map to find
 * its oldest entry (a Map keeps deleted slots until it rehashes, so finding the first live one from the start
 * costs more the more were deleted).
 */
export class BoundedCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generation: number;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`cache capacity must be a positive integer, got ${capacity}`);
    this.generation = Math.max(1, capacity >> 1);
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  set(key: K, value: V): void {
    if (!this.young.has(key)) {
      // An entry lives in one generation only, so that the two together never exceed the capacity.
      this.old.delete(key);
      if (this.young.size >= this.generation) {
        // With a capacity of 1 there is no room for an old generation beside the young one.
        this.old = this.generation * 2 <= this.capacity ? this.young : new Map();
        this.young = new Map();
      }
    }
    this.young.set(key, value);
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
