import type { Clock, TimerHandle } from '../../util/clock.js';

/**
 * The timer values of RFC 3261 §17 (Table 4 in Appendix A). Everything else is derived from T1, T2 and T4,
 * so a test or a fast end-to-end run shortens T1 and the whole schedule scales with it.
 */
export interface TimerSettings {
  /** RTT estimate (§17.1.1.1), 500 ms by default. */
  t1: number;
  /** Maximum retransmission interval for non-INVITE requests and INVITE responses, 4 s by default. */
  t2: number;
  /** Maximum time a message stays in the network, 5 s by default. */
  t4: number;
  /** Timer D: wait time for response retransmissions after a non-2xx INVITE final (§17.1.1.2: at least 32 s for UDP). */
  timerD: number;
}

export const DEFAULT_TIMERS: Readonly<TimerSettings> = Object.freeze({ t1: 500, t2: 4000, t4: 5000, timerD: 32_000 });

/** Fills in unset values; T1 alone shortened keeps the defaults' ratios for Timer D (D = 64·T1 as with the defaults). */
export function timerSettings(partial: Partial<TimerSettings> = {}): TimerSettings {
  const t1 = partial.t1 ?? DEFAULT_TIMERS.t1;
  const scale = t1 / DEFAULT_TIMERS.t1;
  return {
    t1,
    t2: partial.t2 ?? DEFAULT_TIMERS.t2 * scale,
    t4: partial.t4 ?? DEFAULT_TIMERS.t4 * scale,
    timerD: partial.timerD ?? DEFAULT_TIMERS.timerD * scale,
  };
}

/**
 * The timers of RFC 3261 §17 (A–K) and RFC 6026 §7 (L, M), and the 200 ms after which a UAS sends 100 (Trying)
 * on its own (§17.2.1).
 */
export type TimerName = 'A' | 'B' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I' | 'J' | 'K' | 'L' | 'M' | 'Trying';

/** A state machine whose timers fire into one method, told which timer it was. */
export interface TimerOwner {
  expire(timer: TimerName): void;
}

/**
 * Where one timer at a time runs for a state machine; starting another replaces the pending one. A transaction
 * needs at most two at once (a retransmission timer, A, E or G, beside the one that ends its state, B, F, H or
 * the trying delay), and after its final response only one of D, I, J, K, L or M: so it has a slot for each
 * pair that can run together, not an object per named timer. The callback is made once per slot, not per
 * start, since a core under load keeps tens of thousands of transactions waiting out Timers J, L and M (64·T1).
 */
export class TimerSlot {
  private handle: TimerHandle | undefined;
  /** The timer pending in this slot, if any. */
  running: TimerName | undefined;
  private readonly fire: () => void;

  constructor(
    private readonly clock: Clock,
    owner: TimerOwner,
  ) {
    this.fire = () => {
      const timer = this.running!;
      this.handle = undefined;
      this.running = undefined;
      owner.expire(timer);
    };
  }

  start(timer: TimerName, ms: number): void {
    this.handle?.cancel();
    this.running = timer;
    this.handle = this.clock.setTimeout(this.fire, ms);
  }

  /** Stops the pending timer, or only `timer` when given and that is the one pending. */
  cancel(timer?: TimerName): void {
    if (this.handle === undefined || (timer !== undefined && timer !== this.running)) return;
    this.handle.cancel();
    this.handle = undefined;
    this.running = undefined;
  }
}

/** One named timer on its own (a proxy's Timer C, §16.6 step 11): setting it again replaces the pending one. */
export class TransactionTimer {
  private handle: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  start(ms: number, fire: () => void): void {
    this.handle?.cancel();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      fire();
    }, ms);
  }

  cancel(): void {
    this.handle?.cancel();
    this.handle = undefined;
  }

  get running(): boolean {
    return this.handle !== undefined;
  }
}
