import { describe, expect, it } from 'vitest';
import { smallInteger, smallOffset } from '../../src/util/small-integer.js';

describe('smallInteger', () => {
  it('gives back every number as the same value, whole ones in 31 bits as int32', () => {
    const at = 1_764_000_000_000;
    for (const n of [0, 1, -1, 600_000, at + 600_000 - at, 0x3fffffff, -0x40000000, 0x40000000, -0x40000001, 2 ** 31, 0.5, at, -0, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(Object.is(smallInteger(n), n)).toBe(true);
    }
  });

  it('holds a time as a small offset from an epoch only when the offset gives it back exactly', () => {
    const epoch = 1_764_000_000_000;
    for (const t of [epoch, epoch + 1, epoch - 1, epoch + 600_000_000, epoch + 0x3fffffff, epoch - 0x40000000]) {
      const offset = smallOffset(t, epoch);
      expect(offset).toBe(t - epoch);
      expect(offset! + epoch).toBe(t);
    }
    for (const t of [epoch + 0.5, epoch + 0x40000000, epoch - 0x40000001, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(smallOffset(t, epoch)).toBeUndefined();
    }
    expect(smallOffset(0, 0)).toBe(0);
    expect(smallOffset(-0, 0)).toBeUndefined();
  });
});
