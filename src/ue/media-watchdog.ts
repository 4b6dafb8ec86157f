/**
 * RTP inactivity detection of a UE's call. No spec clause mandates it: it is common handset and SBC practice
 * (a "media timeout"), in the spirit of RFC 3550 §6.3.5, which times out an RTP participant heard from for
 * too long. A call whose stream should bring media (our side sendrecv or recvonly, RFC 3264 §6.1) and brings
 * none for the timeout is over: the peer vanished without a BYE.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

/** The default silence after which a call is ended (30 s, as handsets commonly use). */
export const DEFAULT_MEDIA_TIMEOUT_MS = 30_000;

export interface MediaWatchdogOptions {
  timeoutMs: number;
  /** Packets received on the stream so far (RtpSession statistics). */
  received: () => number;
  /** Whether media is expected from the peer now (our direction sendrecv or recvonly). */
  expecting: () => boolean;
  /** Called once when the stream has been silent for the timeout. */
  silent: (silentMs: number) => void;
}

/** Polls the stream's received count at a quarter of the timeout (at most once a second). */
export class MediaWatchdog {
  private timer: TimerHandle | undefined;
  private lastCount = 0;
  private lastChange = 0;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly options: MediaWatchdogOptions,
  ) {}

  start(): void {
    this.lastCount = this.options.received();
    this.lastChange = this.clock.now();
    this.schedule();
  }

  /** The stream changed direction or target: silence is counted from now. */
  reset(): void {
    this.lastCount = this.options.received();
    this.lastChange = this.clock.now();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => this.check(), Math.min(1000, this.options.timeoutMs / 4));
  }

  private check(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const count = this.options.received();
    if (count !== this.lastCount || !this.options.expecting()) {
      // Media on hold (sendonly/inactive) is not silence: the clock restarts when it is expected again.
      this.lastCount = count;
      this.lastChange = now;
    } else if (now - this.lastChange >= this.options.timeoutMs) {
      this.stopped = true;
      this.options.silent(now - this.lastChange);
      return;
    }
    this.schedule();
  }
}
