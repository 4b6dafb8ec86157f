import type { ReportBlock } from './rtcp.js';

/**
 * What a receiver knows about one RTP source (RFC 3550 §6.4.1 with the algorithms of Appendix A.1, A.3 and
 * A.8): extended highest sequence number, expected and lost counts, interarrival jitter, and, beyond the RFC,
 * duplicates and out-of-order arrivals (from a window of the last 1024 sequence numbers).
 *
 * The A.1 probation (MIN_SEQUENTIAL packets before a source is believed) is left out: a UE accepts RTP only
 * from the address and port the SDP negotiated and latches on one SSRC, which is the validation A.1 stands
 * in for, and it keeps the first packet in the counts so that sent and received compare exactly.
 */
export type SequenceVerdict = 'accepted' | 'out-of-order' | 'duplicate' | 'bad-sequence';

export interface ReceptionSnapshot {
  /** Packets counted as received (A.3: duplicates included). */
  received: number;
  /** extended highest − base + 1 (A.3). */
  expected: number;
  /** Packets expected that never arrived: expected − (received − duplicates), never negative. */
  lost: number;
  duplicates: number;
  outOfOrder: number;
  extendedHighestSequence: number;
  /** Interarrival jitter J(i) in timestamp units (§6.4.1). */
  jitter: number;
  jitterMs: number;
}

/** A.1: a jump of up to MAX_DROPOUT ahead is a gap; up to MAX_MISORDER behind is a late packet. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 0x1_0000;
const WINDOW = 1024;

export class ReceptionStatistics {
  private initialized = false;
  private baseSeq = 0;
  private maxSeq = 0;
  private cycles = 0;
  private badSeq = SEQ_MOD + 1;
  private receivedCount = 0;
  private duplicateCount = 0;
  private outOfOrderCount = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private jitterValue = 0;
  private lastArrival = 0;
  private lastTimestamp = 0;
  private haveTransit = false;
  private readonly seen = new Uint8Array(WINDOW);

  constructor(readonly clockRate: number) {}

  /**
   * Accounts for one packet. `arrivalMs` is the local arrival time in milliseconds; `jitter: false` keeps
   * packets whose timestamp is not a sampling instant (RFC 4733 events keep their start time) out of J.
   */
  update(sequenceNumber: number, timestamp: number, arrivalMs: number, jitter = true): SequenceVerdict {
    const seq = sequenceNumber & 0xffff;
    if (!this.initialized) {
      this.init(seq);
      this.mark(seq);
      this.receivedCount++;
      if (jitter) this.updateJitter(timestamp, arrivalMs);
      return 'accepted';
    }
    const udelta = (seq - this.maxSeq + SEQ_MOD) % SEQ_MOD;
    let ext: number;
    let verdict: SequenceVerdict;
    if (udelta === 0) {
      ext = this.cycles + seq;
      verdict = 'duplicate';
    } else if (udelta < MAX_DROPOUT) {
      // In order, possibly with a gap; a smaller number means the 16-bit counter wrapped (A.1).
      if (seq < this.maxSeq) this.cycles += SEQ_MOD;
      const oldExt = this.extendedMax();
      this.maxSeq = seq;
      ext = this.extendedMax();
      this.clearWindow(oldExt + 1, ext);
      verdict = 'accepted';
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      // A.1: a very large jump. Two in a row mean the sender restarted its sequence; one alone is ignored.
      if (seq === this.badSeq) {
        this.init(seq);
        this.mark(seq);
        this.receivedCount++;
        this.haveTransit = false;
        if (jitter) this.updateJitter(timestamp, arrivalMs);
        return 'accepted';
      }
      this.badSeq = (seq + 1) & 0xffff;
      return 'bad-sequence';
    } else {
      ext = this.cycles + seq - (seq > this.maxSeq ? SEQ_MOD : 0);
      verdict = 'out-of-order';
    }
    const inWindow = ext >= 0 && this.extendedMax() - ext < WINDOW;
    if (verdict !== 'accepted' && inWindow && this.seen[ext % WINDOW]) verdict = 'duplicate';
    this.receivedCount++;
    if (verdict === 'duplicate') {
      this.duplicateCount++;
      return verdict;
    }
    if (verdict === 'out-of-order') this.outOfOrderCount++;
    if (inWindow) this.mark(ext);
    if (jitter) this.updateJitter(timestamp, arrivalMs);
    return verdict;
  }

  snapshot(): ReceptionSnapshot {
    const expected = this.initialized ? this.extendedMax() - this.baseSeq + 1 : 0;
    return {
      received: this.receivedCount,
      expected,
      lost: Math.max(0, expected - (this.receivedCount - this.duplicateCount)),
      duplicates: this.duplicateCount,
      outOfOrder: this.outOfOrderCount,
      extendedHighestSequence: this.initialized ? this.extendedMax() : 0,
      jitter: this.jitterValue,
      jitterMs: (this.jitterValue * 1000) / this.clockRate,
    };
  }

  get hasData(): boolean {
    return this.initialized;
  }

  /** A report block for an SR/RR (§6.4.1); advances the interval used for the fraction lost (A.3). */
  reportBlock(ssrc: number, lastSr: number, delaySinceLastSr: number): ReportBlock {
    const s = this.snapshot();
    const expectedInterval = s.expected - this.expectedPrior;
    const receivedInterval = s.received - this.receivedPrior;
    this.expectedPrior = s.expected;
    this.receivedPrior = s.received;
    const lostInterval = expectedInterval - receivedInterval;
    return {
      ssrc,
      fractionLost: expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval),
      // A.3: the RFC's cumulative count is expected − received, duplicates included.
      cumulativeLost: s.expected - s.received,
      extendedHighestSequence: s.extendedHighestSequence >>> 0,
      jitter: Math.floor(s.jitter),
      lastSr,
      delaySinceLastSr,
    };
  }

  private init(seq: number): void {
    this.initialized = true;
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.cycles = 0;
    this.badSeq = SEQ_MOD + 1;
    this.receivedCount = 0;
    this.duplicateCount = 0;
    this.outOfOrderCount = 0;
    this.expectedPrior = 0;
    this.receivedPrior = 0;
    this.seen.fill(0);
  }

  private extendedMax(): number {
    return this.cycles + this.maxSeq;
  }

  private mark(ext: number): void {
    this.seen[ext % WINDOW] = 1;
  }

  private clearWindow(from: number, to: number): void {
    if (to - from + 1 >= WINDOW) {
      this.seen.fill(0);
      return;
    }
    for (let e = from; e <= to; e++) this.seen[e % WINDOW] = 0;
  }

  /**
   * A.8: D(i-1,i) = (R_i − R_{i−1}) − (S_i − S_{i−1}), J += (|D| − J)/16, with R in timestamp units.
   * The timestamp difference is taken modulo 2^32 so that a wrapping timestamp is harmless.
   */
  private updateJitter(timestamp: number, arrivalMs: number): void {
    const arrival = (arrivalMs * this.clockRate) / 1000;
    if (this.haveTransit) {
      const tsDelta = ((timestamp - this.lastTimestamp) | 0);
      const d = Math.abs(arrival - this.lastArrival - tsDelta);
      this.jitterValue += (d - this.jitterValue) / 16;
    }
    this.haveTransit = true;
    this.lastArrival = arrival;
    this.lastTimestamp = timestamp >>> 0;
  }
}
