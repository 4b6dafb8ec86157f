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

/** One named timer of a state machine: setting it again replaces the pending one. */
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
