import type { Clock, TimerHandle } from './clock.js';

/**
 * What DeadlineQueue and KeyedDeadlineQueue share: a binary min-heap of (time, key) kept in two parallel arrays,
 * and a single clock timer armed for the earliest time. A store with a million expiries would otherwise hold a
 * million timers, each a Timeout, a closure and a handle (≈ 400 bytes); here a deadline costs two array slots.
 * Subclasses say what happens to a key that falls due (`takeEarliest`) and may follow each key as it moves
 * (`placed`).
 */
export abstract class DeadlineHeap<K> {
  protected readonly times: number[] = [];
  protected readonly keys: K[] = [];
  private timer: TimerHandle | undefined;
  private armedFor = Infinity;
  private firing = false;

  constructor(
    private readonly clock: Clock,
    /** Called once per deadline that falls due, earliest first. */
    protected readonly due: (key: K) => void,
  ) {}

  /** Deadlines waiting (for a DeadlineQueue, stale ones included). */
  get size(): number {
    return this.times.length;
  }

  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.armedFor = Infinity;
    this.times.length = 0;
    this.keys.length = 0;
  }

  /** Removes the earliest entry and returns its key (the heap is not empty). */
  protected abstract takeEarliest(): K;

  /** Where `key` now sits in the heap: for a subclass that keeps each key's position. */
  protected placed(_key: K, _index: number): void {}

  /** Arms the timer again when `at` is earlier than the one it waits for (not while firing: fire re-arms). */
  protected added(at: number): void {
    if (at < this.armedFor && !this.firing) this.arm();
  }

  /** Adds (at, key) at the bottom and sifts it up. */
  protected push(at: number, key: K): void {
    this.times.push(at);
    this.keys.push(key);
    this.up(this.times.length - 1, at, key);
  }

  /** Takes the entry at `i` out, the last one filling its place; returns its key. */
  protected removeAt(i: number): K {
    const removed = this.keys[i]!;
    const lastAt = this.times.pop()!;
    const lastKey = this.keys.pop()!;
    if (i === this.times.length) return removed;
    if (i > 0 && lastAt < this.times[(i - 1) >> 1]!) this.up(i, lastAt, lastKey);
    else this.down(i, lastAt, lastKey);
    return removed;
  }

  /** Puts (at, key) at position i or above it. */
  protected up(i: number, at: number, key: K): void {
    const t = this.times;
    const k = this.keys;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent]! <= at) break;
      t[i] = t[parent]!;
      k[i] = k[parent]!;
      this.placed(k[i]!, i);
      i = parent;
    }
    t[i] = at;
    k[i] = key;
    this.placed(key, i);
  }

  /** Puts (at, key) at position i or below it. */
  protected down(i: number, at: number, key: K): void {
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
      this.placed(k[i]!, i);
      i = child;
    }
    t[i] = at;
    k[i] = key;
    this.placed(key, i);
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
      while (this.times.length > 0 && this.times[0]! <= now) this.due(this.takeEarliest());
    } finally {
      // Deadlines set by `due`, and those behind one whose owner threw, keep a timer.
      this.firing = false;
      this.arm();
    }
  }
}
