import { describe, expect, it } from 'vitest';
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear, ToneSource, encodeMulaw } from '../../src/rtp/g711.js';

/**
 * Expected characters are read off the G.711 tables, not computed by the encoder: μ-law (table 2a) sends the
 * inverted character, so +0 is 0xFF, the top positive segment's last step 0x80, the most negative 0x00, and
 * the first step of segment 1 (decision level 31 in 14-bit units = 124 in 16-bit) is 0xEF. A-law (table 1a)
 * inverts the even bits: +0 → 0xD5, −0 → 0x55, max positive 0xAA, max negative 0x2A, and the first step of
 * segment 1 (decision level 32 in 13-bit units = 256 in 16-bit) is 0x90 ^ 0x55 = 0xC5.
 */
describe('G.711', () => {
  it('μ-law characters from the table', () => {
    expect(linearToMulaw(0)).toBe(0xff);
    expect(linearToMulaw(32767)).toBe(0x80);
    expect(linearToMulaw(-32768)).toBe(0x00);
    expect(linearToMulaw(-1)).toBe(0x7f);
    expect(linearToMulaw(120)).toBe(0xf0);
    expect(linearToMulaw(124)).toBe(0xef);
  });

  it('A-law characters from the table', () => {
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    expect(linearToAlaw(255)).toBe(0xda);
    expect(linearToAlaw(256)).toBe(0xc5);
    // The first 16 positive characters of segment 0 in transmission order.
    const seg0 = [0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240].map(linearToAlaw);
    expect(seg0).toEqual([0xd5, 0xd4, 0xd7, 0xd6, 0xd1, 0xd0, 0xd3, 0xd2, 0xdd, 0xdc, 0xdf, 0xde, 0xd9, 0xd8, 0xdb, 0xda]);
  });

  it('decoding is within half a quantisation step of every input', () => {
    for (let x = -32768; x <= 32767; x += 7) {
      const m = mulawToLinear(linearToMulaw(x));
      const a = alawToLinear(linearToAlaw(x));
      const mag = Math.abs(x);
      // Step sizes double per segment: μ-law 8·2^seg (16-bit units), A-law 16·2^(seg−1).
      expect(Math.abs(m - Math.max(-32124, Math.min(32124, x)))).toBeLessThanOrEqual(Math.max(8, mag / 16) + 1);
      expect(Math.abs(a - x)).toBeLessThanOrEqual(Math.max(16, mag / 16) + 1);
    }
  });
});

describe('ToneSource', () => {
  it('produces 20 ms frames of a sine with continuous phase across frames', () => {
    const src = new ToneSource(1000, 8000, 10000);
    const a = Array.from(src.nextFrame());
    const b = Array.from(src.nextFrame());
    expect(a).toHaveLength(160);
    // 1000 Hz at 8000 Hz: 8 samples per period: 0, +A/√2, +A, …
    expect(a.slice(0, 4)).toEqual([0, 7071, 10000, 7071]);
    const joined = [...a, ...b];
    for (let n = 0; n < joined.length; n++) {
      expect(joined[n]).toBe(Math.round(10000 * Math.sin((2 * Math.PI * 1000 * n) / 8000)) + 0);
    }
  });

  it('a 440 Hz tone stays in phase over many frames (cycle of 5 frames) and a non-integer one too', () => {
    const src = new ToneSource(440);
    let frame: Int16Array = new Int16Array();
    for (let i = 0; i < 7; i++) frame = src.nextFrame();
    const n0 = 6 * 160;
    for (let i = 0; i < 160; i++) expect(frame[i]).toBe(Math.round(8192 * Math.sin((2 * Math.PI * 440 * (n0 + i)) / 8000)) + 0);
    const odd = new ToneSource(437.5);
    odd.nextFrame();
    const f2 = odd.nextFrame();
    expect(f2[3]).toBe(Math.round(8192 * Math.sin((2 * Math.PI * 437.5 * 163) / 8000)));
    expect(encodeMulaw(frame)).toHaveLength(160);
    expect(() => new ToneSource(4000)).toThrow(RangeError);
  });
});
