/**
 * The call storm of issue 7, in the manner of ETSI TS 186 008-1: registered subscribers call each other
 * through P-CSCF → S-CSCF → I-CSCF → S-CSCF → P-CSCF (one S-CSCF serves both ends), the load stepped in
 * scenario attempts per second. One attempt is one basic call (call-client.ts): INVITE with an SDP offer,
 * 180, 200 with the answer, ACK, a hold, BYE, 200.
 *
 * Figures chosen (TS 186 008-1 leaves them to the benchmark, as for the registration storm): the latency is
 * INVITE sent → 200 received (session setup); an attempt is inadequately handled when any message of the
 * scenario fails or is missing (180 included), or when the setup takes > 100 ms; the DOC is the highest step
 * with < 1 % inadequate. The hold is 200 ms (CALL_HOLD_MS): short, so that a step's calls overlap as calls do
 * (at 1,000 SAPS about 250 are up at once) without the window being spent waiting.
 *
 * With media: a number of calls is set up at a moderate rate, held all together with one G.711 RTP stream each
 * way at 50 packets/s, then released; the figure is the highest number carried without losing a packet and at
 * ≥ 99 % of real-time pace, the same judgement as `rtp.max_streams_without_loss`, which has no signalling.
 */
import { CallStormClient, type CallOutcome, type LiveCall } from './call-client.js';
import type { CoreMode } from './core.js';
import { runAgainstCore, type LoadHooks } from './load-process.js';
import { planOf } from './registration.js';
import { runSteps, type StepPlan, type SteppedResult } from './stepper.js';
import { DEFAULT_NETWORK, STORM_DOMAIN, writeStormTopology, type StormNetwork, type StormSubscriber } from './topology.js';

export const CALL_HOLD_MS = 200;
/** Calls before the ladder, ten at a time, not counted (JIT, first transactions of every hop). */
export const CALL_PREAMBLE = 50;
/** The media calls of a step are set up at this rate (SAPS), well under the signalling DOC. */
export const MEDIA_SETUP_SAPS = 100;
/** Media judged like bench/rtp.ts: no packet lost, and the streams at ≥ 99 % of real-time pace. */
const MEDIA_PACE = 0.99;
/** The UEs' own loopback addresses: 127.63.x.y, 250 per third octet (no .0, no .255); 127.62 is the e2e tests'. */
export function ueAddress(k: number): string {
  return `127.63.${Math.floor(k / 250)}.${(k % 250) + 1}`;
}

export interface MediaPlan {
  /** Concurrent media calls per step, ascending. */
  steps: readonly number[];
  /** How long every call of a step is held with media flowing (s). */
  seconds: number;
}

export interface CallStormOptions {
  mode: CoreMode;
  steps: readonly number[];
  windowSeconds: number;
  /** Caller/callee pairs registered before the ladder; call i is pair i mod pairs. */
  pairs: number;
  holdMs?: number;
  maxAttemptsPerStep?: number;
  pauseMs?: number;
  drainMs?: number;
  latencyThresholdMs?: number;
  /** Run the steps past the first one over the limit too (StepPlan.fullLadder). */
  fullLadder?: boolean;
  network?: StormNetwork;
  /** Also step concurrent media calls on the same core and UEs (after the signalling ladder). */
  media?: MediaPlan;
  step?: (name: string) => void;
}

export interface MediaStepResult {
  calls: number;
  /** Calls that reached the hold with media both ways. */
  established: number;
  /** Calls whose scenario failed (setup, BYE) — a step with any is failed. */
  failed: number;
  packetsSent: number;
  /** Packets that never arrived (RFC 3550 sequence gaps, plus the tail sent and not received). */
  lost: number;
  pace: number;
  maxJitterMs: number;
  setupSeconds: number;
  failures: Record<string, number>;
}

export interface MediaResult {
  max_media_calls_without_loss: number;
  steps: MediaStepResult[];
  stoppedBecause: string;
}

export interface CallStormResult extends SteppedResult {
  mode: CoreMode;
  pairs: number;
  holdMs: number;
  /** Registering every UE before the ladder (s). */
  registrationSeconds: number;
  /** What the answering side could not finish on its own (no ACK, bad offer), by reason. */
  calleeProblems: Record<string, number>;
  /**
   * CPU time per call attempt at each step (ms), of the core's processes and of the load generator, from the
   * step's start to the next one's (drain included): what a call costs, however busy the machine is with others.
   */
  cpuMsPerCall: Array<{ saps: number; cpu_ms_per_call: number; core_cpu_ms: number; generator_cpu_ms: number; cores_busy: number }>;
  media?: MediaResult;
}

export async function runCallStorm(o: CallStormOptions): Promise<CallStormResult> {
  const plan: StepPlan = planOf(o);
  const holdMs = o.holdMs ?? CALL_HOLD_MS;
  const pairs = Math.max(1, Math.floor(o.pairs));
  const label = `call storm (${o.mode})`;
  o.step?.(`${label}: provisioning ${2 * pairs} IMS AKA subscribers`);
  const storm = writeStormTopology({ subscribers: 2 * pairs, network: o.network ?? DEFAULT_NETWORK });
  const job: CallLoadJob = { kind: 'call', label, plan, holdMs, pcscf: storm.pcscf, callers: storm.subscribers.slice(0, pairs), callees: storm.subscribers.slice(pairs), ...(o.media ? { media: o.media } : {}) };
  const { result: r, cpuMsPerAttempt } = await runAgainstCore<CallLoadResult>(storm, o.mode, job, (s) => o.step?.(s));
  // The generator marks once more after the last step, before the media ladder (whose CPU is not per call).
  const cpuMsPerCall = r.steps.map((st, k) => {
    const { core, generator, cores } = cpuMsPerAttempt[k]!;
    return { saps: st.saps, cpu_ms_per_call: Math.round((core + generator) * 100) / 100, core_cpu_ms: core, generator_cpu_ms: generator, cores_busy: cores };
  });
  const { steps, doc_saps, stoppedBecause, registrationSeconds, calleeProblems, media } = r;
  return { mode: o.mode, pairs, holdMs, registrationSeconds, calleeProblems, cpuMsPerCall, doc_saps, steps, stoppedBecause, ...(media ? { media } : {}) };
}

/** What the load generator process needs to run the call ladder (and the media ladder) against a core already up. */
export interface CallLoadJob {
  kind: 'call';
  label: string;
  plan: StepPlan;
  holdMs: number;
  pcscf: { address: string; port: number };
  callers: StormSubscriber[];
  callees: StormSubscriber[];
  media?: MediaPlan;
}

export interface CallLoadResult extends SteppedResult {
  registrationSeconds: number;
  calleeProblems: Record<string, number>;
  media?: MediaResult;
}

/** The generator's side (in the load process): register every UE, the preamble, the ladder, then media. */
export async function callLoad(job: CallLoadJob, hooks: LoadHooks): Promise<CallLoadResult> {
  const { plan, label, holdMs } = job;
  const pairs = job.callers.length;
  const client = new CallStormClient({ pcscf: job.pcscf, domain: STORM_DOMAIN, addressOf: ueAddress });
  try {
    await client.start(job.callers, job.callees);
    hooks.step(`${label}: registering ${2 * pairs} UEs, each from its own address`);
    const r0 = performance.now();
    await client.registerAll(16);
    const registrationSeconds = Math.round(performance.now() - r0) / 1000;
    // The P-CSCF subscribes to each registration's reg event (TS 24.229 §5.2.3): let that settle first.
    await delay(plan.pauseMs);
    const hold = () => delay(holdMs);
    hooks.step(`${label}: preamble of ${CALL_PREAMBLE} calls`);
    for (let i = 0; i < CALL_PREAMBLE; i += 10) {
      const batch = await Promise.all(Array.from({ length: Math.min(10, CALL_PREAMBLE - i) }, (_, j) => client.call(i + j, { hold })));
      const failed = batch.find((r) => !r.ok);
      if (failed) throw new Error(`a preamble call through the core failed: ${failed.reason}`);
    }
    await delay(plan.pauseMs);
    const stepped = await runSteps(
      plan,
      (i) => client.call(CALL_PREAMBLE + i, { hold }),
      (saps) => {
        hooks.mark();
        hooks.step(`${label}: ${saps} SAPS for ${plan.windowSeconds} s`);
      },
    );
    hooks.mark();
    let media: MediaResult | undefined;
    if (job.media) {
      await delay(plan.pauseMs);
      media = await runMediaSteps(client, job.media, pairs, (s) => hooks.step(`${label}: ${s}`));
    }
    return { ...stepped, registrationSeconds, calleeProblems: { ...client.calleeProblems }, ...(media ? { media } : {}) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** Steps the number of concurrent media calls (each on a pair of its own) until one step loses or lags. */
async function runMediaSteps(client: CallStormClient, plan: MediaPlan, pairs: number, step: (s: string) => void): Promise<MediaResult> {
  const steps: MediaStepResult[] = [];
  let best = 0;
  let stoppedBecause = `the ladder ended at ${plan.steps[plan.steps.length - 1]} calls`;
  client.media = true;
  try {
    for (const n of plan.steps) {
      if (n > pairs) {
        stoppedBecause = `${n} media calls need more than the ${pairs} registered pairs`;
        break;
      }
      step(`${n} concurrent media calls for ${plan.seconds} s`);
      const r = await mediaStep(client, n, plan.seconds);
      steps.push(r);
      if (r.failed > 0 || r.lost > 0 || r.pace < MEDIA_PACE) {
        stoppedBecause = `${n} calls: ${r.failed} failed, ${r.lost} packets lost, pace ${r.pace}`;
        break;
      }
      best = n;
      await delay(300);
    }
  } finally {
    client.media = false;
  }
  return { max_media_calls_without_loss: best, steps, stoppedBecause };
}

async function mediaStep(client: CallStormClient, n: number, seconds: number): Promise<MediaStepResult> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const held: Array<{ live: LiveCall; since: number }> = [];
  let allHeld!: () => void;
  const everyoneHeld = new Promise<void>((r) => (allHeld = r));
  let settled = 0;
  const outcomes: Promise<CallOutcome>[] = [];
  const t0 = performance.now();
  // Set up at a constant rate (open loop); a call that fails counts towards "everyone is there" too.
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / MEDIA_SETUP_SAPS;
    const wait = due - performance.now();
    if (wait > 1) await delay(wait);
    let reachedHold = false;
    const p = client.call(i, {
      hold: async (live) => {
        reachedHold = true;
        held.push({ live, since: performance.now() });
        if (held.length + settled === n) allHeld();
        await released;
      },
    });
    outcomes.push(p);
    void p.then(() => {
      if (reachedHold) return;
      settled++;
      if (held.length + settled === n) allHeld();
    });
  }
  // Bounded: a setup that hangs is cut off after 10 s (the transaction's own timers end it by 32 s).
  let guard: NodeJS.Timeout | undefined;
  await Promise.race([everyoneHeld, new Promise<void>((r) => (guard = setTimeout(r, 10_000)))]);
  clearTimeout(guard);
  const setupSeconds = Math.round(performance.now() - t0) / 1000;
  await delay(seconds * 1000);
  // Stop sending everywhere, let what is in flight arrive, then compare per direction.
  const stoppedAt = performance.now();
  for (const { live } of held) {
    live.caller?.setDirection('inactive');
    live.callee?.setDirection('inactive');
  }
  await delay(200);
  let packetsSent = 0;
  let lost = 0;
  let nominal = 0;
  let maxJitterMs = 0;
  let established = 0;
  for (const { live, since } of held) {
    if (!live.caller || !live.callee) continue;
    established++;
    const a = live.caller.statistics();
    const b = live.callee.statistics();
    packetsSent += a.sent + b.sent;
    // Whatever arrived counts as arrived: a packet the caller got before it had read the answer is `unexpected`
    // (dropped by its session, RFC 3264 §5.1 notwithstanding) but not lost.
    lost += Math.max(0, a.sent - b.received - b.unexpected) + Math.max(0, b.sent - a.received - a.unexpected) + a.lost + b.lost;
    maxJitterMs = Math.max(maxJitterMs, a.jitterMs, b.jitterMs);
    // One frame per stream is allowed for the edges of the window, as in bench/rtp.ts.
    nominal += 2 * Math.max(0, (stoppedAt - since) / 20 - 1);
  }
  release();
  const results = await Promise.all(outcomes);
  const failures: Record<string, number> = {};
  let failed = 0;
  for (const r of results) {
    if (r.ok) continue;
    failed++;
    const why = (r.reason ?? 'failed').slice(0, 120);
    failures[why] = (failures[why] ?? 0) + 1;
  }
  return {
    calls: n,
    established,
    failed,
    packetsSent,
    lost,
    pace: nominal === 0 ? 0 : Math.round((packetsSent / nominal) * 1000) / 1000,
    maxJitterMs: Math.round(maxJitterMs * 100) / 100,
    setupSeconds,
    failures,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
