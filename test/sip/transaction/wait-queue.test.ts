import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/util/clock.js';
import { WaitQueue } from '../../../src/sip/transaction/wait-queue.js';
import type { TimerName, TimerOwner } from '../../../src/sip/transaction/timers.js';

/** An owner that records when each of its timers expired. */
function owner(log: string[], clock: FakeClock, start: number, name: string, onExpire?: () => void): TimerOwner {
  return {
    expire(timer: TimerName) {
      log.push(`${name}:${timer}@${clock.now() - start}`);
      onExpire?.();
    },
  };
}

describe('WaitQueue (Timers D, I, J, K, L, M kept by the layer)', () => {
  it('fires each timer at its own due time, in the order started, with one clock timer for any number waiting', () => {
    const clock = new FakeClock();
    const start = clock.now();
    const log: string[] = [];
    const q = new WaitQueue(clock, 32_000);
    q.start(owner(log, clock, start, 'a', undefined), 'L');
    clock.advance(10);
    q.start(owner(log, clock, start, 'b'), 'J');
    q.start(owner(log, clock, start, 'c'), 'M');
    expect(clock.pending).toBe(1);
    expect(q.size).toBe(3);

    clock.advance(31_989);
    expect(log).toEqual([]);
    clock.advance(1);
    expect(log).toEqual(['a:L@32000']);
    expect(clock.pending).toBe(1);
    clock.advance(10);
    expect(log).toEqual(['a:L@32000', 'b:J@32010', 'c:M@32010']);
    expect(q.size).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('keeps firing the rest when one owner throws, and the error still reaches the caller', () => {
    const clock = new FakeClock();
    const start = clock.now();
    const log: string[] = [];
    const q = new WaitQueue(clock, 5000);
    q.start(owner(log, clock, start, 'a', () => { throw new Error('TU failed'); }), 'K');
    clock.advance(1);
    q.start(owner(log, clock, start, 'b'), 'K');
    expect(() => clock.advance(5000)).toThrow('TU failed');
    expect(log).toEqual(['a:K@5000']);
    // FakeClock stopped where the error left it: 5000 ms in.
    clock.advance(1);
    expect(log).toEqual(['a:K@5000', 'b:K@5001']);
    expect(q.size).toBe(0);
  });

  it('forgets every waiting timer on clear and stops its clock timer', () => {
    const clock = new FakeClock();
    const log: string[] = [];
    const q = new WaitQueue(clock, 100);
    for (let i = 0; i < 3; i++) q.start(owner(log, clock, clock.now(), `t${i}`), 'J');
    q.clear();
    expect(clock.pending).toBe(0);
    clock.advance(1000);
    expect(log).toEqual([]);
    q.start(owner(log, clock, clock.now(), 'again'), 'J');
    clock.advance(100);
    expect(log).toEqual(['again:J@100']);
  });

  it('moves the expired front out once it dominates, without losing or reordering waiting timers', () => {
    const clock = new FakeClock();
    const start = clock.now();
    const fired: number[] = [];
    const q = new WaitQueue(clock, 50);
    for (let i = 0; i < 3000; i++) {
      const n = i;
      q.start({ expire: () => fired.push(n) }, 'I');
      clock.advance(1);
    }
    clock.advance(50);
    expect(fired).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(clock.now() - start).toBe(3050);
    expect(q.size).toBe(0);
  });
});
