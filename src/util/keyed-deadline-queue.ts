import { DeadlineHeap } from './deadline-heap.js';

/** What a KeyedDeadlineQueue stores in each key: where its deadline sits in the heap, -1 when it has none. */
export interface DeadlineSlot {
  deadlineSlot: number;
}

/**
 * Many deadlines on one timer, at most one per key, each movable and removable: a binary min-heap of
 * (time, key) in which every key records its own position, and a single clock timer armed for the earliest.
 *
 * DeadlineQueue (deadline-queue.ts) never cancels: that suits keys that are small strings and deadlines
 * that only move later. A long-lived protocol object whose deadline moves both ways — a subscription
 * refreshed every few minutes, with an expiry of 600,000 s (RFC 6665 §4.1.2.1, TS 24.229 §5.2.3) — would
 * there leave one stale entry per move, each holding the whole object alive until its old time came. Here a
 * move is a sift in place and an ended key leaves the heap at once; the cost per key is its slot field and
 * two array slots.
 */
export class KeyedDeadlineQueue<K extends DeadlineSlot> extends DeadlineHeap<K> {
  /** Sets (or moves) the deadline of `key` to the clock time `at` (ms). */
  set(key: K, at: number): void {
    const i = key.deadlineSlot;
    if (i < 0) this.push(at, key);
    else if (at < this.times[i]!) this.up(i, at, key);
    else this.down(i, at, key);
    this.added(at);
  }

  /**
   * Removes the deadline of `key`, if it has one. A timer armed for the removed deadline stays: it finds nothing
   * due and re-arms for the next.
   */
  delete(key: K): void {
    const i = key.deadlineSlot;
    if (i < 0) return;
    this.removeAt(i);
    key.deadlineSlot = -1;
  }

  /** The deadline of `key`, or undefined. */
  deadlineOf(key: K): number | undefined {
    return key.deadlineSlot < 0 ? undefined : this.times[key.deadlineSlot];
  }

  override clear(): void {
    for (const k of this.keys) k.deadlineSlot = -1;
    super.clear();
  }

  /** The key is out of the queue by the time its owner's `due` sees it. */
  protected takeEarliest(): K {
    const key = this.removeAt(0);
    key.deadlineSlot = -1;
    return key;
  }

  protected override placed(key: K, index: number): void {
    key.deadlineSlot = index;
  }
}
