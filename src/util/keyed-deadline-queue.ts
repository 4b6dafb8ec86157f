import type { Clock, TimerHandle } from './clock.js';

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
export class KeyedDeadlineQueue<K extends DeadlineSlot> {
  private readonly times: number[] = [];
  private readonly keys: K[] = [];
  private timer: TimerHandle | undefined;
  private armedFor = Infinity;
  private firing = false;

  constructor(
    private readonly clock: Clock,
    /** Called once per deadline that falls due, earliest first; the key is out of the queue by then. */
    private readonly due: (key: K) => void,
  ) {}

  /** Sets (or moves) the deadline of `key` to the clock time `at` (ms). */
  set(key: K, at: number): void {
    const i = key.deadlineSlot;
    if (i < 0) {
      this.times.push(at);
      this.keys.push(key);
      this.up(this.times.length - 1, at, key);
    } else if (at < this.times[i]!) {
      this.up(i, at, key);
    } else {
      this.down(i, at, key);
    }
    if (at < this.armedFor && !this.firing) this.arm();
  }

  /** Removes the deadline of `key`, if it has one. */
  delete(key: K): void {
    const i = key.deadlineSlot;
    if (i < 0) return;
    key.deadlineSlot = -1;
    const lastAt = this.times.pop()!;
    const lastKey = this.keys.pop()!;
    if (i === this.times.length) return;
    // The last entry fills the hole, then goes whichever way its time says. A timer armed for the removed
    // deadline stays: it finds nothing due and re-arms for the next.
    if (i > 0 && lastAt < this.times[(i - 1) >> 1]!) this.up(i, lastAt, lastKey);
    else this.down(i, lastAt, lastKey);
  }

  /** The deadline of `key`, or undefined. */
  deadlineOf(key: K): number | undefined {
    return key.deadlineSlot < 0 ? undefined : this.times[key.deadlineSlot];
  }

  get size(): number {
    return this.times.length;
  }

  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedFor = Infinity;
    for (const k of this.keys) k.deadlineSlot = -1;
    this.times.length = 0;
    this.keys.length = 0;
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedFor = Infinity;
    if (this.times.length === 0) return;
    const at = this.times[0]!;
    this.armedFor = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.clock.now();
    this.firing = true;
    try {
      while (this.times.length > 0 && this.times[0]! <= now) {
        const key = this.keys[0]!;
        this.delete(key);
        this.due(key);
      }
    } finally {
      // Deadlines set by `due`, and those behind one whose owner threw, keep a timer.
      this.firing = false;
      this.arm();
    }
  }

  /** Puts (at, key) at position i or above it. */
  private up(i: number, at: number, key: K): void {
    const t = this.times;
    const k = this.keys;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent]! <= at) break;
      t[i] = t[parent]!;
      k[i] = k[parent]!;
      k[i]!.deadlineSlot = i;
      i = parent;
    }
    t[i] = at;
    k[i] = key;
    key.deadlineSlot = i;
  }

  /** Puts (at, key) at position i or below it. */
  private down(i: number, at: number, key: K): void {
    const t = this.times;
    const k = this.keys;
    const n = t.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && t[right]! < t[left]! ? right : left;
      if (t[child]! >= at) break;
      t[i] = t[child]!;
      k[i] = k[child]!;
      k[i]!.deadlineSlot = i;
      i = child;
    }
    t[i] = at;
    k[i] = key;
    key.deadlineSlot = i;
  }
}
