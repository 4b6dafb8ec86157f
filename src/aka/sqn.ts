import { AkaInputError, requireLength } from './bytes.js';

/**
 * Sequence numbers for AKA freshness, per TS 33.102 Annex C: SQN (48 bits) = SEQ ‖ IND, where IND (the low
 * `indBits` bits, 5 recommended in C.1.1) indexes an array of previously accepted SEQ values in the USIM, so
 * that vectors handed to different serving nodes may be used out of order (C.2.2).
 *
 * SQN fits in 48 bits, hence in a JavaScript number exactly; the wire form is 6 big-endian octets.
 */

export const SQN_OCTETS = 6;
export const SQN_MAX = 2 ** 48 - 1;
/** C.1.1: IND length of 5 bits is the recommended value. */
export const DEFAULT_IND_BITS = 5;
/** C.2.1: Δ = 2^28 is the recommended wrap-around protection limit. */
export const DEFAULT_DELTA = 2 ** 28;

export type SqnInput = Buffer | bigint | number;

/** SQN as 6 big-endian octets. */
export function sqnToBuffer(sqn: SqnInput): Buffer {
  if (Buffer.isBuffer(sqn)) return requireLength('SQN', sqn, SQN_OCTETS);
  const n = typeof sqn === 'bigint' ? sqn : BigInt(sqn);
  if (typeof sqn === 'number' && !Number.isSafeInteger(sqn)) throw new AkaInputError('SQN', `not an integer: ${sqn}`);
  if (n < 0n || n > BigInt(SQN_MAX)) throw new AkaInputError('SQN', `out of the 48-bit range: ${n}`);
  const out = Buffer.alloc(SQN_OCTETS);
  out.writeUIntBE(Number(n), 0, SQN_OCTETS);
  return out;
}

export function sqnToNumber(sqn: SqnInput): number {
  return sqnToBuffer(sqn).readUIntBE(0, SQN_OCTETS);
}

function checkIndBits(indBits: number): number {
  if (!Number.isInteger(indBits) || indBits < 0 || indBits > 16) {
    throw new AkaInputError('indBits', `expected an integer 0..16, got ${indBits}`);
  }
  return indBits;
}

export function splitSqn(sqn: SqnInput, indBits = DEFAULT_IND_BITS): { seq: number; ind: number } {
  const n = sqnToNumber(sqn);
  const span = 2 ** checkIndBits(indBits);
  return { seq: Math.floor(n / span), ind: n % span };
}

export function joinSqn(seq: number, ind: number, indBits = DEFAULT_IND_BITS): Buffer {
  const span = 2 ** checkIndBits(indBits);
  if (!Number.isSafeInteger(seq) || seq < 0 || seq * span > SQN_MAX) throw new AkaInputError('SEQ', `out of range: ${seq}`);
  if (!Number.isInteger(ind) || ind < 0 || ind >= span) throw new AkaInputError('IND', `out of range: ${ind}`);
  return sqnToBuffer(seq * span + ind);
}

export interface NextSqnOptions {
  indBits?: number;
  /**
   * C.3.4 lets the AuC allocate IND values cyclically, so that consecutive vectors land in different array
   * slots of the USIM; `false` keeps IND (every vector in slot IND of the current SQN).
   */
  cycleInd?: boolean;
}

/**
 * HSS side: the SQN of the next vector. SEQ_HE is incremented by one per generated vector (C.1.2/C.3.2);
 * IND advances cyclically by default (C.3.4). Throws when SEQ would wrap, which C.2.1 exists to prevent.
 */
export function nextSqn(current: SqnInput, options: NextSqnOptions = {}): Buffer {
  const indBits = options.indBits ?? DEFAULT_IND_BITS;
  const { seq, ind } = splitSqn(current, indBits);
  const span = 2 ** indBits;
  const nextInd = options.cycleInd === false ? ind : (ind + 1) % span;
  if ((seq + 1) * span > SQN_MAX) throw new AkaInputError('SQN', 'SEQ is exhausted (would wrap around, TS 33.102 C.2.1)');
  return joinSqn(seq + 1, nextInd, indBits);
}

/**
 * HSS side after a successful resynchronisation (TS 33.102 §6.3.5, C.3): SQN_HE is set to SQN_MS, so that
 * the next vector (nextSqn) carries SEQ_MS + 1, which the USIM accepts.
 */
export function sqnAfterResync(sqnMs: SqnInput): Buffer {
  return sqnToBuffer(sqnMs);
}

export interface SqnPolicy {
  /** IND length in bits, C.1.1 (default 5). */
  indBits?: number;
  /** Δ of C.2.1: reject SEQ more than Δ above the highest accepted SEQ (default 2^28; Infinity disables). */
  delta?: number;
  /** L of C.2.2 (optional): reject SEQ that is L or more below the highest accepted SEQ. */
  limit?: number;
}

/** The serialisable USIM state: SEQ_MS(i) for every IND value i (C.2.2). */
export interface SqnTrackerState {
  indBits: number;
  seqMs: number[];
}

export type SqnVerdict =
  | { fresh: true }
  | { fresh: false; reason: 'replayed' | 'beyond-delta' | 'too-old'; seq: number; ind: number; seqMsHighest: number };

/** USIM side: the array of highest accepted SEQ per IND and the freshness test of TS 33.102 C.2. */
export class SqnTracker {
  readonly indBits: number;
  readonly delta: number;
  readonly limit: number | undefined;
  private readonly seqMs: number[];

  constructor(policy: SqnPolicy & { state?: SqnTrackerState } = {}) {
    this.indBits = checkIndBits(policy.state?.indBits ?? policy.indBits ?? DEFAULT_IND_BITS);
    if (policy.state && policy.indBits !== undefined && policy.indBits !== policy.state.indBits) {
      throw new AkaInputError('indBits', `state was saved with ${policy.state.indBits} IND bits, not ${policy.indBits}`);
    }
    this.delta = policy.delta ?? DEFAULT_DELTA;
    this.limit = policy.limit;
    const size = 2 ** this.indBits;
    if (policy.state) {
      const s = policy.state.seqMs;
      if (!Array.isArray(s) || s.length !== size || !s.every((v) => Number.isSafeInteger(v) && v >= 0)) {
        throw new AkaInputError('sqnState', `expected ${size} non-negative integers in seqMs`);
      }
      this.seqMs = [...s];
    } else {
      this.seqMs = new Array<number>(size).fill(0);
    }
  }

  /** SEQ_MS: the highest SEQ accepted in any slot (C.2.1). */
  highestSeq(): number {
    let best = 0;
    for (const v of this.seqMs) if (v > best) best = v;
    return best;
  }

  /**
   * SQN_MS for AUTS (TS 33.102 §6.3.5): the highest previously accepted SQN, i.e. the highest SEQ_MS with its IND.
   */
  highestSqn(): Buffer {
    let bestInd = 0;
    for (let i = 1; i < this.seqMs.length; i++) if (this.seqMs[i]! > this.seqMs[bestInd]!) bestInd = i;
    return joinSqn(this.seqMs[bestInd]!, bestInd, this.indBits);
  }

  /** C.2.2: accept SEQ only if SEQ > SEQ_MS(IND); C.2.1: and SEQ − SEQ_MS ≤ Δ; optionally SEQ_MS − SEQ < L. */
  check(sqn: SqnInput): SqnVerdict {
    const { seq, ind } = splitSqn(sqn, this.indBits);
    const seqMsHighest = this.highestSeq();
    if (seq <= this.seqMs[ind]!) return { fresh: false, reason: 'replayed', seq, ind, seqMsHighest };
    if (seq - seqMsHighest > this.delta) return { fresh: false, reason: 'beyond-delta', seq, ind, seqMsHighest };
    if (this.limit !== undefined && seqMsHighest - seq >= this.limit) {
      return { fresh: false, reason: 'too-old', seq, ind, seqMsHighest };
    }
    return { fresh: true };
  }

  /** Records SEQ in slot IND (C.2.2: SEQ_MS(IND) := SEQ). Call only after check() said fresh. */
  accept(sqn: SqnInput): void {
    const { seq, ind } = splitSqn(sqn, this.indBits);
    this.seqMs[ind] = seq;
  }

  toJSON(): SqnTrackerState {
    return { indBits: this.indBits, seqMs: [...this.seqMs] };
  }
}
