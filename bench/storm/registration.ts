/**
 * The registration storm of issue 7: distinct IMS AKA subscribers register through P-CSCF → I-CSCF (UAR) →
 * S-CSCF (MAR, 401, then SAR, 200), the load stepped in SAPS; one scenario attempt is one initial
 * registration (TS 24.228 §6.2), its latency from the first REGISTER sent to the 200 received.
 */
import type { CoreMode } from './core.js';
import { runAgainstCore, type LoadHooks } from './load-process.js';
import { RegisterStormClient } from './register-client.js';
import { DOC_CRITERIA, runSteps, type StepPlan, type SteppedResult } from './stepper.js';
import { DEFAULT_NETWORK, STORM_DOMAIN, writeStormTopology, type StormNetwork, type StormSubscriber } from './topology.js';

/** Registrations before the ladder, ten at a time, not counted. */
export const PREAMBLE = 200;

export interface StormOptions {
  mode: CoreMode;
  steps: readonly number[];
  windowSeconds: number;
  maxAttemptsPerStep?: number;
  pauseMs?: number;
  drainMs?: number;
  /** The latency over which an attempt is inadequate (default 100 ms, the DOC criterion). */
  latencyThresholdMs?: number;
  /** Run the steps past the first one over the limit too (StepPlan.fullLadder). */
  fullLadder?: boolean;
  network?: StormNetwork;
  /** Progress (step names) for the bench harness. */
  step?: (name: string) => void;
}

export interface StormResult extends SteppedResult {
  mode: CoreMode;
  subscribers: number;
  /** CPU (user + system) of the generator and every core process per attempt, step by step: a figure that holds on a busy machine. */
  cpuMsPerRegistration: Array<{ saps: number; cpu_ms_per_registration: number; core_cpu_ms: number; generator_cpu_ms: number; cores_busy: number }>;
}

export function planOf(o: Pick<StormOptions, 'steps' | 'windowSeconds' | 'maxAttemptsPerStep' | 'pauseMs' | 'drainMs' | 'latencyThresholdMs' | 'fullLadder'>): StepPlan {
  return {
    steps: o.steps,
    windowSeconds: o.windowSeconds,
    maxAttempts: o.maxAttemptsPerStep ?? 20_000,
    drainMs: o.drainMs ?? 3_000,
    pauseMs: o.pauseMs ?? 500,
    ...DOC_CRITERIA,
    ...(o.latencyThresholdMs !== undefined ? { latencyThresholdMs: o.latencyThresholdMs } : {}),
    ...(o.fullLadder ? { fullLadder: true } : {}),
  };
}

/** Every attempt of the ladder gets a subscriber of its own: no attempt is a re-registration. */
export function attemptsOf(plan: StepPlan): number {
  return plan.steps.reduce((t, s) => t + Math.max(1, Math.min(plan.maxAttempts, Math.round(s * plan.windowSeconds))), 0);
}

export async function runRegistrationStorm(o: StormOptions): Promise<StormResult> {
  const plan = planOf(o);
  const count = attemptsOf(plan) + PREAMBLE;
  o.step?.(`registration storm (${o.mode}): provisioning ${count.toLocaleString('en')} IMS AKA subscribers`);
  const storm = writeStormTopology({ subscribers: count, network: o.network ?? DEFAULT_NETWORK });
  const job: RegistrationLoadJob = { kind: 'registration', mode: o.mode, plan, clientAddresses: storm.clientAddresses, pcscf: storm.pcscf, subscribers: storm.subscribers };
  const { result, cpuMsPerAttempt } = await runAgainstCore<SteppedResult>(storm, o.mode, job, (s) => o.step?.(s));
  const cpuMsPerRegistration = result.steps.map((st, k) => {
    const { core, generator, cores } = cpuMsPerAttempt[k]!;
    return { saps: st.saps, cpu_ms_per_registration: Math.round((core + generator) * 100) / 100, core_cpu_ms: core, generator_cpu_ms: generator, cores_busy: cores };
  });
  return { mode: o.mode, subscribers: count, cpuMsPerRegistration, ...result };
}

/** What the load generator process needs to run the registration ladder against a core already up. */
export interface RegistrationLoadJob {
  kind: 'registration';
  mode: CoreMode;
  plan: StepPlan;
  clientAddresses: string[];
  pcscf: { address: string; port: number };
  subscribers: StormSubscriber[];
}

/** The generator's side (in the load process): the preamble, then every step of the ladder. */
export async function registrationLoad(job: RegistrationLoadJob, hooks: LoadHooks): Promise<SteppedResult> {
  const { plan, subscribers } = job;
  const client = new RegisterStormClient({ addresses: job.clientAddresses, pcscf: job.pcscf, domain: STORM_DOMAIN });
  try {
    await client.start();
    // A preamble outside the figures (TS 186 008-1 has one too): the Diameter connections open, the JIT warms
    // every process, and a core that cannot register at all fails here with the reason.
    hooks.step(`registration storm (${job.mode}): preamble of ${PREAMBLE} registrations`);
    const first = await client.register(subscribers[0]!);
    if (!first.ok) throw new Error(`the first registration through the core failed: ${first.reason}`);
    for (let i = 1; i < PREAMBLE; i += 10) {
      const batch = subscribers.slice(i, Math.min(PREAMBLE, i + 10)).map((s) => client.register(s));
      const failed = (await Promise.all(batch)).find((r) => !r.ok);
      if (failed) throw new Error(`a preamble registration failed: ${failed.reason}`);
    }
    // The P-CSCF subscribes to each new registration's reg event (TS 24.229 §5.2.3): let that settle first.
    await new Promise((r) => setTimeout(r, plan.pauseMs));
    const rest = subscribers.slice(PREAMBLE);
    const stepped = await runSteps(
      plan,
      (i) => (i < rest.length ? client.register(rest[i]!) : Promise.resolve({ ok: false, latencyMs: 0, reason: 'no subscriber left' })),
      (saps) => {
        hooks.mark();
        hooks.step(`registration storm (${job.mode}): ${saps} SAPS for ${plan.windowSeconds} s`);
      },
    );
    hooks.mark();
    return stepped;
  } finally {
    await client.close().catch(() => undefined);
  }
}
