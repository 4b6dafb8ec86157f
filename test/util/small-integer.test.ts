import { describe, expect, it } from 'vitest';
import { smallInteger } from '../../src/util/small-integer.js';

describe('smallInteger', () => {
  it('gives back every number as the same value, whole ones in 31 bits as int32', () => {
    const at = 1_764_000_000_000;
    for (const n of [0, 1, -1, 600_000, at + 600_000 - at, 0x3fffffff, -0x40000000, 0x40000000, -0x40000001, 2 ** 31, 0.5, at, -0, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(Object.is(smallInteger(n), n)).toBe(true);
    }
  });
});
