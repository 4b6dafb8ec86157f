import { describe, expect, it } from 'vitest';
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
