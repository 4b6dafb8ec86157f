import { DeadlineHeap } from './deadline-heap.js';

/**
 * Many deadlines on one timer (see DeadlineHeap), for keys that are small values such as an IMPI string: RFC
 * 3261 §10.3 bindings, TS 24.229 §5.2.2.1 P-CSCF registrations.
 *
 * Deadlines are never cancelled: a key whose deadline moved is simply scheduled again, and when an old
 * deadline falls due the owner's `due` callback sees that the key is no longer due and ignores it. Old
 * deadlines leave the heap when their time comes, so the heap holds at most one deadline per schedule call
 * made within the longest lifetime.
 */
export class DeadlineQueue<K> extends DeadlineHeap<K> {
  schedule(key: K, at: number): void {
    this.push(at, key);
    this.added(at);
  }

  protected takeEarliest(): K {
    return this.removeAt(0);
  }
}
