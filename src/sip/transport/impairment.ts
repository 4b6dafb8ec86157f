import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import type { Endpoint } from '../../trace/events.js';
import { canonicalHost } from './address.js';

/**
 * A bad link, simulated on the send path: what RFC 3261 §17.1.1.2 / §17.1.2.2 retransmissions (Timers A, E,
 * G) exist for. Probabilities are per datagram, drawn from the node's seeded Random, so a run with a seed
 * loses the same datagrams every time; delays run on the Clock, so FakeClock tests stay exact.
 */
export interface ImpairmentProfile {
  /** Probability (0..1) that a datagram is lost. */
  loss?: number;
  /** Fixed one-way delay in ms added to every datagram (and to every TCP/TLS write). */
  delay?: number;
  /** Extra delay in ms, uniform in [0, jitter], drawn per datagram. */
  jitter?: number;
  /** Probability (0..1) that a datagram is delivered twice. */
  duplicate?: number;
  /** Probability (0..1) that a datagram is held back and overtaken by the next one to the same destination. */
  reorder?: number;
  /** Longest time in ms a held-back datagram waits for one to overtake it (default 100). */
  reorderWindow?: number;
}

export class ImpairmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImpairmentError';
  }
}

/** Checks a profile; a bad one is refused with a clear error and changes nothing. */
export function validateImpairment(p: ImpairmentProfile): ImpairmentProfile {
  const prob = (k: 'loss' | 'duplicate' | 'reorder') => {
    const v = p[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 1)) {
      throw new ImpairmentError(`impairment: ${k} must be a probability between 0 and 1, got ${v}`);
    }
  };
  const ms = (k: 'delay' | 'jitter' | 'reorderWindow') => {
    const v = p[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 3_600_000)) {
      throw new ImpairmentError(`impairment: ${k} must be a duration in ms between 0 and 3600000, got ${v}`);
    }
  };
  prob('loss');
  prob('duplicate');
  prob('reorder');
  ms('delay');
  ms('jitter');
  ms('reorderWindow');
  return { ...p };
}

/** What happens to one datagram. */
export type DatagramFate =
  | { kind: 'lost' }
  | {
      kind: 'delivered';
      /** Delay in ms of each copy on the wire (two entries when duplicated). */
      copies: number[];
      /** Whether the first copy waits for the next datagram to the same destination to overtake it. */
      held: boolean;
    };

interface Held {
  deliver: () => void;
  timer: TimerHandle;
}

export class LinkImpairment {
  private all: ImpairmentProfile | undefined;
  private readonly perDestination = new Map<string, ImpairmentProfile>();
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly random: Random,
    private readonly clock: Clock,
    profile?: ImpairmentProfile,
  ) {
    if (profile) this.all = validateImpairment(profile);
  }

  /**
   * Sets the profile for one destination (address, and port if given) or, without one, for every
   * destination. `undefined` clears it.
   */
  set(profile: ImpairmentProfile | undefined, destination?: { address: string; port?: number }): void {
    const checked = profile ? validateImpairment(profile) : undefined;
    if (!destination) {
      this.all = checked;
      return;
    }
    const key = destinationKey(destination.address, destination.port);
    if (checked) this.perDestination.set(key, checked);
    else this.perDestination.delete(key);
  }

  /** The profile that applies to a destination: address:port first, then the address, then the global one. */
  profileFor(to: Endpoint): ImpairmentProfile | undefined {
    if (this.perDestination.size > 0) {
      return (
        this.perDestination.get(destinationKey(to.address, to.port)) ??
        this.perDestination.get(destinationKey(to.address)) ??
        this.all
      );
    }
    return this.all;
  }

  get active(): boolean {
    return this.all !== undefined || this.perDestination.size > 0;
  }

  /** Draws the fate of one datagram. Draws happen in a fixed order so that a seed replays exactly. */
  fate(to: Endpoint): DatagramFate {
    const p = this.profileFor(to);
    if (!p) return { kind: 'delivered', copies: [0], held: false };
    if (p.loss && this.random.float() < p.loss) return { kind: 'lost' };
    const base = p.delay ?? 0;
    const one = () => base + (p.jitter ? this.random.float() * p.jitter : 0);
    const copies = [one()];
    if (p.duplicate && this.random.float() < p.duplicate) copies.push(one());
    const held = !!p.reorder && this.random.float() < p.reorder;
    return { kind: 'delivered', copies, held };
  }

  /**
   * Sends one datagram through the link: `write` is called once per copy that reaches the wire (now or
   * later on the Clock), `lost` once if it never does.
   */
  datagram(to: Endpoint, write: () => void, lost: () => void): DatagramFate {
    const fate = this.fate(to);
    if (fate.kind === 'lost') {
      lost();
      return fate;
    }
    const key = destinationKey(to.address, to.port);
    const waiting = this.held.get(key);
    const [first, ...rest] = fate.copies as [number, ...number[]];
    if (fate.held && !waiting) {
      const p = this.profileFor(to);
      const entry: Held = {
        deliver: write,
        timer: this.clock.setTimeout(() => this.release(key, entry), p?.reorderWindow ?? 100),
      };
      this.held.set(key, entry);
    } else {
      this.after(first, write);
    }
    for (const d of rest) this.after(d, write);
    // The datagram held back before this one is released behind it: the two arrive swapped.
    if (waiting) this.after(first, () => this.release(key, waiting));
    return fate;
  }

  /** The delay of one write on a reliable stream (TCP/TLS lose nothing; only delay and jitter apply). */
  streamDelay(to: Endpoint): number {
    const p = this.profileFor(to);
    if (!p) return 0;
    return (p.delay ?? 0) + (p.jitter ? this.random.float() * p.jitter : 0);
  }

  /** Releases every held datagram now (before a socket closes). */
  flush(): void {
    for (const [key, h] of [...this.held]) this.release(key, h);
  }

  private release(key: string, h: Held): void {
    if (this.held.get(key) !== h) return;
    this.held.delete(key);
    h.timer.cancel();
    h.deliver();
  }

  private after(ms: number, fn: () => void): void {
    if (ms <= 0) fn();
    else this.clock.setTimeout(fn, ms);
  }
}

function destinationKey(address: string, port?: number): string {
  return port === undefined ? canonicalHost(address) : `${canonicalHost(address)}:${port}`;
}
