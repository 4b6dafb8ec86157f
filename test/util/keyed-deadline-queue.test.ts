import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/util/clock.js';
import { KeyedDeadlineQueue } from '../../src/util/keyed-deadline-queue.js';

interface Item {
  name: string;
  deadlineSlot: number;
}
const item = (name: string): Item => ({ name, deadlineSlot: -1 });

describe('KeyedDeadlineQueue: one deadline per key on one timer', () => {
  it('fires due keys earliest first, once each, and a moved deadline fires only at its new time', () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const fired: string[] = [];
    const q = new KeyedDeadlineQueue<Item>(clock, (k) => fired.push(`${k.name}@${clock.now() - t0}`));
    const [a, b, c] = [item('a'), item('b'), item('c')];
    q.set(a, t0 + 300);
    q.set(b, t0 + 100);
    q.set(c, t0 + 200);
    q.set(b, t0 + 400); // later
    q.set(c, t0 + 50); // earlier
    expect(q.size).toBe(3);
    clock.advance(60);
    expect(fired).toEqual(['c@50']);
    expect(c.deadlineSlot).toBe(-1);
    clock.advance(340);
    expect(fired).toEqual(['c@50', 'a@300', 'b@400']);
    expect(q.size).toBe(0);
  });

  it('a deleted key leaves the heap at once and never fires; the others keep their order', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const q = new KeyedDeadlineQueue<Item>(clock, (k) => fired.push(k.name));
    const items = Array.from({ length: 50 }, (_, i) => item(`k${i}`));
    // Deadlines in a scrambled order, then every third removed.
    const t0 = clock.now();
    items.forEach((k, i) => q.set(k, t0 + ((i * 37) % 50) * 10 + 10));
    items.filter((_, i) => i % 3 === 0).forEach((k) => q.delete(k));
    expect(q.size).toBe(50 - 17);
    q.delete(items[0]!); // already gone: nothing happens
    clock.advance(1000);
    const expected = items
      .map((k, i) => ({ k, at: ((i * 37) % 50) * 10 + 10, i }))
      .filter((x) => x.i % 3 !== 0)
      .sort((x, y) => x.at - y.at)
      .map((x) => x.k.name);
    expect(fired).toEqual(expected);
  });

  it('a key set again from its own due callback is queued anew, and clear() forgets everything', () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const fired: number[] = [];
    const k = item('k');
    const q: KeyedDeadlineQueue<Item> = new KeyedDeadlineQueue<Item>(clock, (key) => {
      fired.push(clock.now() - t0);
      if (fired.length < 3) q.set(key, clock.now() + 100);
    });
    q.set(k, t0 + 100);
    clock.advance(1000);
    expect(fired).toEqual([100, 200, 300]);
    q.set(k, t0 + 2000);
    q.clear();
    expect(k.deadlineSlot).toBe(-1);
    clock.advance(5000);
    expect(fired).toEqual([100, 200, 300]);
  });
});
