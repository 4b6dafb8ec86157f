import type { Clock, TimerHandle } from '../../util/clock.js';
import type { TimerName, TimerOwner } from './timers.js';

/**
 * The timers that end a transaction's last state: D, I, J, K, L and M (RFC 3261 §17, RFC 6026 §7). Each runs once,
 * is never restarted, and lasts the same for every transaction of a layer (64·T1, T4 or Timer D, zero when
 * reliable), so those started with one duration fall due in the order they were started: a first-in first-out
 * queue with one clock timer for its head keeps them, at three array slots a transaction, where a timer of its own
 * took a Node Timeout, a handle and a callback. A core under load has tens of thousands waiting at once for 32 s.
 *
 * Nothing is cancelled: an expiry reaching a transaction that already ended (aborted, or failed to send) finds it
 * Terminated and does nothing (each state machine checks its state in expire).
 */
export class WaitQueue {
  private owners: Array<TimerOwner | undefined> = [];
  private names: TimerName[] = [];
  private dues: number[] = [];
  private head = 0;
  private handle: TimerHandle | undefined = undefined;
  private readonly fire = (): void => this.expire();

  constructor(
    private readonly clock: Clock,
    /** How long every timer in this queue runs, in milliseconds. */
    readonly ms: number,
  ) {}

  /** Timers still waiting. */
  get size(): number {
    return this.owners.length - this.head;
  }

  start(owner: TimerOwner, timer: TimerName): void {
    this.owners.push(owner);
    this.names.push(timer);
    this.dues.push(this.clock.now() + this.ms);
    if (this.handle === undefined) this.handle = this.clock.setTimeout(this.fire, this.ms);
  }

  /** Forgets every waiting timer (the layer is closing and has ended its transactions itself). */
  clear(): void {
    this.handle?.cancel();
    this.handle = undefined;
    this.owners = [];
    this.names = [];
    this.dues = [];
    this.head = 0;
  }

  private expire(): void {
    this.handle = undefined;
    const now = this.clock.now();
    try {
      while (this.head < this.owners.length && this.dues[this.head]! <= now) {
        const i = this.head++;
        const owner = this.owners[i]!;
        this.owners[i] = undefined;
        owner.expire(this.names[i]!);
      }
    } finally {
      // Also after an owner threw: the rest still fall due.
      this.compact();
      if (this.head < this.owners.length && this.handle === undefined) {
        this.handle = this.clock.setTimeout(this.fire, Math.max(0, this.dues[this.head]! - now));
      }
    }
  }

  /** Drops the expired front once it is most of the arrays, so they neither grow for ever nor move on every expiry. */
  private compact(): void {
    if (this.head === this.owners.length) {
      this.owners.length = this.names.length = this.dues.length = this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.owners.length) {
      this.owners.splice(0, this.head);
      this.names.splice(0, this.head);
      this.dues.splice(0, this.head);
      this.head = 0;
    }
  }
}
