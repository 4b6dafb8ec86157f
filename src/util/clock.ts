/**
 * Time as a dependency. Every timer in imslab (RFC 3261 §17 T1/T2/T4 and timers A–K, Diameter watchdog,
 * registration expiry) runs on a Clock, so tests drive time with FakeClock instead of sleeping and a
 * seeded run can be replayed.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch (fractional allowed). */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export class SystemClock implements Clock {
  now(): number {
    return performance.timeOrigin + performance.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    // Timers must never keep a finished process alive; the owner of a node decides its lifetime.
    t.unref?.();
    return new SystemTimer(t);
  }
}

/**
 * A pending system timer: one small object, where a closure over the Timeout took two and a scope. A core holds
 * a few per transaction for Timers J, L and M (64·T1), so tens of thousands at once under load.
 */
class SystemTimer implements TimerHandle {
  constructor(private readonly timeout: ReturnType<typeof setTimeout>) {}

  cancel(): void {
    clearTimeout(this.timeout);
  }
}

interface PendingTimer {
  at: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to. Timers fire in due order, ties in creation order. */
export class FakeClock implements Clock {
  private current: number;
  private order = 0;
  private timers: PendingTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: PendingTimer = { at: this.current + Math.max(0, ms), order: this.order++, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => (t.cancelled = true) };
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (including ones they set). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.current = next.at;
      next.cancelled = true;
      next.fn();
    }
    this.current = target;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private nextDue(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.order < best.order)) best = t;
    }
    return best;
  }
}
