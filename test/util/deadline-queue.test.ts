import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/util/clock.js';
import { DeadlineQueue } from '../../src/util/deadline-queue.js';

describe('DeadlineQueue', () => {
  it('calls due once per deadline, earliest first, on one timer', () => {
    const clock = new FakeClock(0);
    const fired: Array<[string, number]> = [];
    const q = new DeadlineQueue<string>(clock, (k) => fired.push([k, clock.now()]));
    // Out of order and with ties: a heap that sifted wrongly would fire them out of order.
    const deadlines = [700, 100, 500, 100, 900, 300, 800, 200, 600, 400];
    deadlines.forEach((at, i) => q.schedule(`k${i}`, at));
    expect(clock.pending).toBe(1);
    clock.advance(450);
    expect(fired.map(([, t]) => t)).toEqual([100, 100, 200, 300, 400]);
    expect(q.size).toBe(5);
    clock.advance(1000);
    expect(fired.map(([, t]) => t)).toEqual([...deadlines].sort((a, b) => a - b));
    expect(fired.map(([k]) => k).slice(0, 2).sort()).toEqual(['k1', 'k3']);
    expect(clock.pending).toBe(0);
    expect(q.size).toBe(0);
  });

  it('re-arms for an earlier deadline, keeps deadlines scheduled while firing, and clear stops everything', () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    const q = new DeadlineQueue<string>(clock, (k) => {
      fired.push(k);
      if (k === 'a') q.schedule('again', clock.now() + 50);
    });
    q.schedule('late', 1000);
    q.schedule('a', 100);
    clock.advance(120);
    expect(fired).toEqual(['a']);
    clock.advance(40);
    expect(fired).toEqual(['a', 'again']);
    q.clear();
    expect(clock.pending).toBe(0);
    clock.advance(2000);
    expect(fired).toEqual(['a', 'again']);
  });

  it('holds 100,000 random deadlines in order', () => {
    const clock = new FakeClock(0);
    let last = -1;
    let count = 0;
    let ordered = true;
    const q = new DeadlineQueue<number>(clock, (at) => {
      if (at < last || at > clock.now()) ordered = false;
      last = at;
      count++;
    });
    let x = 12345;
    for (let i = 0; i < 100_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const at = 1 + (x % 100_000);
      q.schedule(at, at);
    }
    clock.advance(100_001);
    expect(count).toBe(100_000);
    expect(ordered).toBe(true);
  });
});
