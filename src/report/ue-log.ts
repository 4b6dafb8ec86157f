/**
 * What the report keeps of one outside UE: a bounded log of its messages. The first ones (the initial
 * registration, the reg-event subscription) and the latest ones (the registration in force) are what the
 * TS 24.229 §5.1 rules look at, so the log keeps a head that never moves, a ring of the latest messages and a
 * ring of the latest REGISTER exchanges; whatever falls between is counted, not kept.
 */
import type { Observed } from './model.js';

export interface UeLogLimits {
  /** Messages kept from the start. */
  head: number;
  /** Latest messages kept. */
  tail: number;
  /** Latest REGISTER requests and their responses kept beyond the head. */
  registers: number;
}

export const DEFAULT_LOG_LIMITS: UeLogLimits = { head: 64, tail: 48, registers: 24 };

/** A fixed-size ring: push overwrites the oldest. */
class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;
  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }
  /** Returns the element pushed out, if any. */
  push(x: T): T | undefined {
    if (this.capacity === 0) return x;
    if (this.count < this.capacity) {
      this.items[(this.start + this.count++) % this.capacity] = x;
      return undefined;
    }
    const out = this.items[this.start];
    this.items[this.start] = x;
    this.start = (this.start + 1) % this.capacity;
    return out;
  }
  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.items[(this.start + i) % this.capacity]!);
    return out;
  }
  get size(): number {
    return this.count;
  }
}

function isRegisterExchange(o: Observed): boolean {
  const m = o.message;
  if (m.kind === 'request') return m.method === 'REGISTER';
  const cseq = m.headers.get('CSeq');
  return cseq !== undefined && /\sREGISTER\s*$/i.test(cseq);
}

export class UeLog {
  private readonly head: Observed[] = [];
  private tail: Ring<Observed>;
  private registerRing: Ring<Observed>;
  /** Messages offered to the log. */
  seen = 0;
  private evicted = 0;

  constructor(readonly limits: UeLogLimits = DEFAULT_LOG_LIMITS) {
    this.tail = new Ring(limits.tail);
    this.registerRing = new Ring(limits.registers);
  }

  add(o: Observed): void {
    this.seen++;
    if (this.head.length < this.limits.head) {
      this.head.push(o);
      return;
    }
    const out = this.tail.push(o);
    // A REGISTER exchange leaving the tail moves to its own ring; anything else leaving is only counted.
    if (out === undefined) return;
    if (isRegisterExchange(out)) {
      if (this.registerRing.push(out) !== undefined) this.evicted++;
    } else this.evicted++;
  }

  /** Everything kept, in stream order. */
  messages(): Observed[] {
    const out = [...this.head, ...this.registerRing.toArray(), ...this.tail.toArray()];
    out.sort((a, b) => a.seq - b.seq);
    return out;
  }

  get kept(): number {
    return this.head.length + this.tail.size + this.registerRing.size;
  }

  get dropped(): number {
    return this.evicted;
  }

  /** Takes in another UE's log (the same UE seen on another port or connection), keeping stream order. */
  absorb(other: UeLog): void {
    const all = [...this.messages(), ...other.messages()].sort((a, b) => a.seq - b.seq);
    const seen = this.seen + other.seen;
    const evicted = this.evicted + other.evicted;
    this.head.length = 0;
    this.tail = new Ring(this.limits.tail);
    this.registerRing = new Ring(this.limits.registers);
    this.evicted = 0;
    for (const o of all) this.add(o);
    this.seen = seen;
    this.evicted += evicted;
  }
}
