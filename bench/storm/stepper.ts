/**
 * Load stepped in scenario attempts per second, as the IMS benchmark of ETSI TS 186 008-1 does: at each step
 * attempts start at a constant rate (open loop: an attempt starts on schedule whether or not earlier ones
 * have finished), each attempt is judged adequate or not, and the design objective capacity (DOC) is the
 * highest step whose share of inadequately handled scenarios stays under the limit.
 *
 * The figures chosen here (TS 186 008-1 leaves them to the benchmark's definition): an attempt is
 * inadequately handled when it fails or when its latency exceeds 100 ms; the limit is 1 %; the steps are
 * a fixed ladder; the run stops at the first step over the limit.
 */

export interface AttemptOutcome {
  ok: boolean;
  latencyMs: number;
  reason?: string;
}

export interface StepResult {
  saps: number;
  attempts: number;
  /** Attempts that started (the rest were not reached before the step's time bound). */
  started: number;
  failed: number;
  /** Succeeded, but slower than the threshold. */
  late: number;
  /** (failed + late + not finished) / attempts, in %. */
  inadequate_pct: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  /** Rate at which attempts actually started (the generator may fall behind its schedule). */
  achieved_saps: number;
  /** A few distinct failure reasons with their counts. */
  failures: Record<string, number>;
}

export interface StepPlan {
  /** SAPS of each step, ascending. */
  steps: readonly number[];
  /** How long attempts are started at each step (s); the step's attempts are saps × this. */
  windowSeconds: number;
  /** Attempts per step at most. */
  maxAttempts: number;
  /** An attempt not finished this long after the window ends counts as failed (ms). */
  drainMs: number;
  /** Pause between steps, so that the next starts on a quiet core (ms). */
  pauseMs: number;
  latencyThresholdMs: number;
  /** Inadequate share allowed, in %. */
  limitPct: number;
  /**
   * Run every step, past the first one over the limit too: a study of how the CPU per attempt and the latency
   * go on with the load. The DOC is still the highest step below the first one over the limit.
   */
  fullLadder?: boolean;
}

export const DOC_CRITERIA = { latencyThresholdMs: 100, limitPct: 1 } as const;

export interface SteppedResult {
  doc_saps: number | null;
  steps: StepResult[];
  /** Why the ladder stopped: the first step over the limit, or its end. */
  stoppedBecause: string;
}

/** `attempt(i)` runs the i-th scenario of the whole run (each index once). */
export async function runSteps(plan: StepPlan, attempt: (index: number) => Promise<AttemptOutcome>, onStep?: (saps: number) => void): Promise<SteppedResult> {
  const steps: StepResult[] = [];
  let doc: number | null = null;
  let index = 0;
  let stoppedBecause = `the ladder ended at ${plan.steps[plan.steps.length - 1]} SAPS`;
  let overLimit = false;
  for (const saps of plan.steps) {
    onStep?.(saps);
    const r = await runStep(saps, plan, () => attempt(index++));
    steps.push(r);
    if (r.inadequate_pct >= plan.limitPct) {
      if (!overLimit) stoppedBecause = `${r.inadequate_pct.toFixed(2)} % inadequate at ${saps} SAPS (limit ${plan.limitPct} %)${plan.fullLadder ? '; the rest of the ladder ran (full ladder)' : ''}`;
      overLimit = true;
      if (!plan.fullLadder) break;
    } else if (!overLimit) doc = saps;
    await new Promise((r) => setTimeout(r, plan.pauseMs));
  }
  return { doc_saps: doc, steps, stoppedBecause };
}

/** The shortest sleep between two rounds of starts. */
const MIN_TICK_MS = 2;

async function runStep(saps: number, plan: StepPlan, next: () => Promise<AttemptOutcome>): Promise<StepResult> {
  const attempts = Math.max(1, Math.min(plan.maxAttempts, Math.round(saps * plan.windowSeconds)));
  const outcomes: AttemptOutcome[] = [];
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  const windowMs = (attempts / saps) * 1000;
  let started = 0;
  // Each wake-up starts every attempt that is due: timers are coarse, the schedule is not.
  while (started < attempts) {
    // The epsilon keeps a wake-up that lands on an attempt's due time from reading it as a hair before it.
    const due = Math.min(attempts, Math.floor(((performance.now() - t0) * saps) / 1000 + 1e-9) + 1);
    while (started < due) {
      started++;
      const p: Promise<void> = next().then(
        (o) => void outcomes.push(o),
        (e: unknown) => void outcomes.push({ ok: false, latencyMs: 0, reason: e instanceof Error ? e.message : String(e) }),
      );
      const tracked = p.finally(() => pending.delete(tracked));
      pending.add(tracked);
    }
    // The time bound of the step: a generator that cannot keep up stops starting at twice the window.
    if (performance.now() - t0 > 2 * windowMs + 1000) break;
    if (started < attempts) {
      // Sleep until the next attempt is due, 2 ms at the least. Below 500 SAPS that is one wake-up per attempt
      // rather than one per 2 ms tick: the generator shares the machine with the core under test (TS 186 008-1
      // keeps the test system from loading the system under test), and on a VM each wake-up costs 100-300 µs of
      // CPU (ceiling.echo_cpu_us_per_datagram.woken). Above, ticks still gather several attempts per wake-up.
      const nextDueMs = (started / saps) * 1000 - (performance.now() - t0);
      await new Promise((r) => setTimeout(r, Math.max(MIN_TICK_MS, Math.ceil(nextDueMs))));
    }
  }
  const startedIn = (performance.now() - t0) / 1000;
  // Wait for the stragglers, bounded: one that is not done by then is counted as failed.
  if (pending.size > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(pending), new Promise((r) => (timer = setTimeout(r, plan.drainMs)))]);
    clearTimeout(timer);
  }
  const done = outcomes.slice();
  const failures: Record<string, number> = {};
  let failed = 0;
  let late = 0;
  const latencies: number[] = [];
  for (const o of done) {
    if (!o.ok) {
      failed++;
      const why = (o.reason ?? 'failed').slice(0, 120);
      if (why in failures || Object.keys(failures).length < 8) failures[why] = (failures[why] ?? 0) + 1;
      continue;
    }
    latencies.push(o.latencyMs);
    if (o.latencyMs > plan.latencyThresholdMs) late++;
  }
  const unfinished = attempts - done.length;
  if (unfinished > 0) failures[started < attempts ? 'not started or not finished within the step\'s time bound' : `not finished within ${plan.drainMs} ms of the window`] = unfinished;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => (latencies.length === 0 ? null : Math.round(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]! * 100) / 100);
  return {
    saps,
    attempts,
    started,
    failed: failed + unfinished,
    late,
    inadequate_pct: Math.round(((failed + unfinished + late) / attempts) * 10_000) / 100,
    p50_ms: q(50),
    p95_ms: q(95),
    p99_ms: q(99),
    achieved_saps: Math.round(started / Math.max(startedIn, 1e-3)),
    failures,
  };
}
