import { afterEach, describe, expect, it, vi } from 'vitest';
import { runSteps, type StepPlan } from '../../bench/storm/stepper.js';

const plan = (fullLadder: boolean): StepPlan => ({
  steps: [100, 200, 300],
  windowSeconds: 0.05,
  maxAttempts: 100,
  drainMs: 200,
  pauseMs: 0,
  latencyThresholdMs: 100,
  limitPct: 1,
  ...(fullLadder ? { fullLadder: true } : {}),
});

/** Every attempt of the 200 SAPS step fails; the others succeed at once. */
async function ladder(fullLadder: boolean) {
  let current = 0;
  return runSteps(
    plan(fullLadder),
    async () => (current === 200 ? { ok: false, latencyMs: 0, reason: 'refused' } : { ok: true, latencyMs: 1 }),
    (saps) => (current = saps),
  );
}

describe('the storm ladder', () => {
  it('stops at the first step over the limit, and the DOC is the step below it', async () => {
    const r = await ladder(false);
    expect(r.steps.map((s) => s.saps)).toEqual([100, 200]);
    expect(r.steps[1]!.failures).toEqual({ refused: 10 });
    expect(r.doc_saps).toBe(100);
    expect(r.stoppedBecause).toBe('100.00 % inadequate at 200 SAPS (limit 1 %)');
  });

  it('with fullLadder runs every step, and a passing step after a failed one does not raise the DOC', async () => {
    const r = await ladder(true);
    expect(r.steps.map((s) => [s.saps, s.inadequate_pct])).toEqual([
      [100, 0],
      [200, 100],
      [300, 0],
    ]);
    expect(r.doc_saps).toBe(100);
    expect(r.stoppedBecause).toBe('100.00 % inadequate at 200 SAPS (limit 1 %); the rest of the ladder ran (full ladder)');
  });
});

describe('the storm generator schedule', () => {
  afterEach(() => vi.useRealTimers());

  /** One step of `saps` for 1 s with the clock faked: how many times the generator slept, and when attempts started. */
  async function schedule(saps: number) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const sleeps = vi.spyOn(globalThis, 'setTimeout');
    const startedAt: number[] = [];
    const t0 = performance.now();
    const run = runSteps(
      { steps: [saps], windowSeconds: 1, maxAttempts: 10_000, drainMs: 100, pauseMs: 0, latencyThresholdMs: 100, limitPct: 1 },
      async () => {
        startedAt.push(performance.now() - t0);
        return { ok: true, latencyMs: 1 };
      },
    );
    await vi.runAllTimersAsync();
    const r = await run;
    return { r, sleeps: sleeps.mock.calls.length, startedAt };
  }

  it('at a low rate wakes once per attempt, each at its due time, not every 2 ms', async () => {
    const { r, sleeps, startedAt } = await schedule(50);
    expect(r.steps[0]!.started).toBe(50);
    // 49 sleeps between 50 attempts (plus the drain's timer); 2 ms ticks would be about 500.
    expect(sleeps).toBeLessThanOrEqual(52);
    // Attempt i starts at i × 20 ms.
    startedAt.forEach((t, i) => expect(t).toBeCloseTo(i * 20, 0));
  });

  it('at a high rate still gathers the attempts due within a 2 ms tick', async () => {
    const { r, sleeps, startedAt } = await schedule(2000);
    expect(r.steps[0]!.started).toBe(2000);
    expect(sleeps).toBeLessThanOrEqual(502);
    // The last is due at 999.5 ms and starts at the next tick.
    expect(startedAt[startedAt.length - 1]!).toBeLessThanOrEqual(1002);
  });
});
