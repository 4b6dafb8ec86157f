import { describe, expect, it } from 'vitest';
import { ReceptionStatistics } from '../../src/rtp/statistics.js';

/** Feeds sequence numbers 20 ms apart with matching timestamps (no jitter), returning the verdicts. */
function feed(stats: ReceptionStatistics, seqs: number[]): string[] {
  return seqs.map((s, i) => stats.update(s, s * 160, 1_000_000 + i * 20));
}

describe('ReceptionStatistics (RFC 3550 A.1, A.3)', () => {
  it('counts gaps, duplicates and reordering exactly', () => {
    const s = new ReceptionStatistics(8000);
    const v = feed(s, [100, 101, 103, 104, 104, 102, 106, 102]);
    expect(v).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'duplicate', 'out-of-order', 'accepted', 'duplicate']);
    expect(s.snapshot()).toMatchObject({
      received: 8,
      expected: 7, // 100..106
      lost: 1, // 105 never came
      duplicates: 2,
      outOfOrder: 1,
      extendedHighestSequence: 106,
    });
    // A.3: the RFC's cumulative count includes duplicates, so here it is negative; the fraction is clamped to 0.
    expect(s.reportBlock(7, 0, 0)).toMatchObject({ cumulativeLost: -1, fractionLost: 0, extendedHighestSequence: 106 });
  });

  it('fraction lost is per interval between reports (A.3)', () => {
    const s = new ReceptionStatistics(8000);
    feed(s, [0, 1, 2, 3, 8]);
    // expected 9, received 5 → 4 lost → 4·256/9 = 113.
    expect(s.reportBlock(7, 0, 0)).toMatchObject({ cumulativeLost: 4, fractionLost: 113 });
    s.update(9, 9 * 160, 2_000_000);
    s.update(10, 10 * 160, 2_000_020);
    expect(s.reportBlock(7, 0, 0)).toMatchObject({ cumulativeLost: 4, fractionLost: 0 });
  });

  it('extends the sequence number across the 16-bit wrap', () => {
    const s = new ReceptionStatistics(8000);
    feed(s, [65534, 65535, 0, 1]);
    expect(s.snapshot()).toMatchObject({ received: 4, expected: 4, lost: 0, extendedHighestSequence: 65537 });
    // A late packet from before the wrap is out of order, not a new cycle.
    expect(s.update(65535, 0, 1_000_100)).toBe('duplicate');
    expect(s.update(65533, 0, 1_000_120)).toBe('out-of-order');
    expect(s.snapshot().extendedHighestSequence).toBe(65537);
  });

  it('ignores one wild jump, and restarts after two sequential ones (A.1)', () => {
    const s = new ReceptionStatistics(8000);
    expect(feed(s, [10, 11, 5000, 12])).toEqual(['accepted', 'accepted', 'bad-sequence', 'accepted']);
    expect(s.snapshot()).toMatchObject({ received: 3, expected: 3, lost: 0 });
    expect(s.update(40000, 0, 0)).toBe('bad-sequence');
    expect(s.update(40001, 0, 0)).toBe('accepted');
    expect(s.snapshot()).toMatchObject({ received: 1, expected: 1, extendedHighestSequence: 40001 });
  });
});

describe('interarrival jitter (RFC 3550 §6.4.1, A.8)', () => {
  /**
   * Hand computation, 8 kHz, packets every 160 units, arrivals at 0, 20, 45, 60 ms (= 0, 160, 360, 480 units):
   *   D(1,2) = (160−0) − 160 = 0      J = 0
   *   D(2,3) = (360−160) − 160 = 40   J = 0 + (40 − 0)/16 = 2.5
   *   D(3,4) = (480−360) − 160 = −40  J = 2.5 + (40 − 2.5)/16 = 4.84375  → 0.60546875 ms
   */
  it('matches the hand-computed example, also across a timestamp wrap', () => {
    for (const ts0 of [0, 0x1_0000_0000 - 160]) {
      const s = new ReceptionStatistics(8000);
      const arrivals = [0, 20, 45, 60];
      arrivals.forEach((a, i) => s.update(500 + i, (ts0 + i * 160) >>> 0, 1_767_225_600_000 + a));
      expect(s.snapshot().jitter).toBeCloseTo(4.84375, 9);
      expect(s.snapshot().jitterMs).toBeCloseTo(0.60546875, 9);
      expect(s.reportBlock(1, 0, 0).jitter).toBe(4);
    }
  });

  it('packets marked as non-sampling (RFC 4733 events) leave J alone', () => {
    const s = new ReceptionStatistics(8000);
    s.update(1, 0, 0);
    s.update(2, 160, 20);
    s.update(3, 160, 40, false);
    s.update(4, 480, 60);
    expect(s.snapshot().jitter).toBe(0);
  });
});
