import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../../src/util/bounded-cache.js';

describe('BoundedCache', () => {
  it('never holds more than its capacity, and keeps every entry for at least capacity / 2 later insertions', () => {
    for (const capacity of [1, 2, 3, 8, 9]) {
      const c = new BoundedCache<number, string>(capacity);
      for (let i = 0; i < 50; i++) {
        c.set(i, `v${i}`);
        expect(c.size).toBeLessThanOrEqual(capacity);
        expect(c.get(i)).toBe(`v${i}`);
        const kept = Math.max(1, capacity >> 1);
        for (let j = Math.max(0, i - kept + 1); j <= i; j++) expect(c.get(j)).toBe(`v${j}`);
      }
      // The oldest are gone.
      expect(c.get(0)).toBeUndefined();
    }
  });

  it('overwrites in place, moves a rewritten old entry to the young side, and deletes and clears', () => {
    const c = new BoundedCache<string, number>(4);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3); // a and b are now the old generation
    c.set('a', 10); // rewritten: counted once, in the young generation
    expect(c.size).toBe(3);
    expect(c.get('a')).toBe(10);
    c.set('d', 4); // young is full: it becomes the old generation and b is dropped
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')]).toEqual([10, 3, 4]);
    c.delete('c');
    expect(c.get('c')).toBeUndefined();
    expect(c.size).toBe(2);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.get('a')).toBeUndefined();
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new BoundedCache(0)).toThrow(/positive integer/);
    expect(() => new BoundedCache(1.5)).toThrow(/positive integer/);
  });
});
