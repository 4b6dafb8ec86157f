import type { Clock, TimerHandle } from './clock.js';

/**
 * Many deadlines on one timer: a binary min-heap of (time, key) with a single clock timer armed for the
 * earliest. A store that holds a million entries, each with its own expiry (RFC 3261 §10.3 bindings, TS
 * 24.229 §5.2.2.1 P-CSCF registrations), would otherwise hold a million timers, each a Timeout, a closure
 * and a handle (≈ 400 bytes); here a deadline costs two array slots.
 *
 * Deadlines are never cancelled: a key whose deadline moved is simply scheduled again, and when an old
 * deadline falls due the owner's `due` callback sees that the key is no longer due and ignores it. Old
 * deadlines leave the heap when their time comes, so the heap holds at most one deadline per schedule call
 * made within the longest lifetime.
 */
export class DeadlineQueue<K> {
  private readonly times: number[] = [];
  private readonly keys: K[] = [];
  private timer: TimerHandle | undefined;
  private armedFor = Infinity;
  private firing = false;

  constructor(
    private readonly clock: Clock,
    /** Called once per deadline that falls due, earliest first; the owner checks that the key is still due. */
    private readonly due: (key: K) => void,
  ) {}

  schedule(key: K, at: number): void {
    this.push(at, key);
    if (at < this.armedFor && !this.firing) this.arm();
  }

  /** Deadlines waiting, stale ones included. */
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
      while (this.times.length > 0 && this.times[0]! <= now) this.due(this.pop());
    } finally {
      // Deadlines scheduled by `due`, and those behind one whose owner threw, keep a timer.
      this.firing = false;
      this.arm();
    }
  }

  private push(at: number, key: K): void {
    const t = this.times;
    const k = this.keys;
    let i = t.length;
    t.push(at);
    k.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (t[parent]! <= at) break;
      t[i] = t[parent]!;
      k[i] = k[parent]!;
      i = parent;
    }
    t[i] = at;
    k[i] = key;
  }

  private pop(): K {
    const t = this.times;
    const k = this.keys;
    const top = k[0]!;
    const lastAt = t.pop()!;
    const lastKey = k.pop()!;
    const n = t.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && t[right]! < t[left]! ? right : left;
      if (t[child]! >= lastAt) break;
      t[i] = t[child]!;
      k[i] = k[child]!;
      i = child;
    }
    t[i] = lastAt;
    k[i] = lastKey;
    return top;
  }
}
