/**
 * The load generator in a process of its own. TS 186 008-1 keeps the test system apart from the system under
 * test, and so does this bench: in the one-process mode the core has its event loop to itself (the generator's
 * transactions, USIM and UA work no longer share it), and in both modes the generator's CPU is still counted
 * beside the core's, so CPU per attempt stays the cost of the whole scenario.
 *
 * The parent forks bench/storm/load-child.ts, hands it a job over IPC, relays its progress and marks the CPU
 * of every process at each step the child starts; the child stays up, idle, after its result so that the last
 * mark can still read its CPU time, and leaves when told.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startCore, type CoreMode } from './core.js';
import { stopChild } from '../stop-child.js';
import { cpuMsOf } from './cpu.js';
import type { SteppedResult } from './stepper.js';
import type { StormTopology } from './topology.js';

// Bundled like the core's nodes (bin/run.mjs), so that the generator runs the same compiled code as the core.
const RUN = fileURLToPath(new URL('../../bin/run.mjs', import.meta.url));
const CHILD = 'bench/storm/load-child.ts';

/** What the child reports while it runs. */
export type LoadMessage =
  | { type: 'ready' }
  | { type: 'step'; label: string }
  | { type: 'mark' }
  | { type: 'result'; result: unknown }
  | { type: 'error'; message: string };

export interface LoadHooks {
  /** A progress line for the bench harness. */
  step(label: string): void;
  /** A measuring step starts now (the parent reads every process's CPU time). */
  mark(): void;
}

export interface LoadProcess<R> {
  readonly pid: number;
  /** The job's result; rejects with the child's error or how it died. */
  readonly result: Promise<R>;
  /** Ends the child (after the result, or to abandon the job). */
  stop(): Promise<void>;
}

export function startLoadProcess<R>(job: { kind: string }, hooks: LoadHooks): LoadProcess<R> {
  // IMSLAB_STORM_CPU_PROF=DIR profiles the generator too (DIR/load), like each function of the core.
  const prof = process.env.IMSLAB_STORM_CPU_PROF;
  const profile = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}/load`] : [];
  const child: ChildProcess = fork(RUN, [CHILD], { execArgv: profile, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  const result = new Promise<R>((resolve, reject) => {
    child.on('message', (m: LoadMessage) => {
      // The job goes once the child listens: a message that arrives while it still loads would be lost.
      if (m.type === 'ready') child.send(job);
      else if (m.type === 'step') hooks.step(m.label);
      else if (m.type === 'mark') hooks.mark();
      else if (m.type === 'result') resolve(m.result as R);
      else reject(new Error(m.message));
    });
    child.once('exit', (code, signal) => reject(new Error(`the load generator process ended (${signal ?? `exit ${code}`}) before its result${stderr ? `: ${stderr.trim()}` : ''}`)));
    child.once('error', reject);
  });
  return {
    pid: child.pid!,
    result,
    stop: () => stopChild(child, { type: 'exit' }),
  };
}

/** CPU time per attempt at one step (ms), and what it comes to at the step's rate. */
export interface StepCpu {
  core: number;
  generator: number;
  /** Cores the core and the generator kept busy at the step's rate: CPU per attempt × attempts per second. */
  cores: number;
}

/**
 * How many cores a rate keeps busy at a given CPU time per attempt. Beside the machine's core count it tells
 * a step lost to a full machine (the figure near the core count) from one lost to latency spikes (far below).
 */
export function coresBusy(saps: number, cpuMsPerAttempt: number): number {
  return Math.round((saps * cpuMsPerAttempt) / 10) / 100;
}

/**
 * A storm's frame: the core up in `mode`, the job run by a load process against it, everything stopped and the
 * topology's files removed after. Returns the job's result and the CPU time (ms) per attempt, step by step, from
 * the marks the generator sends at each step: of the core's processes and of the generator, so that a run shows
 * which of the two was working hardest (TS 186 008-1: the test system must not be the bottleneck).
 */
export async function runAgainstCore<R extends SteppedResult>(
  storm: StormTopology,
  mode: CoreMode,
  job: { kind: string },
  step: (label: string) => void,
): Promise<{ result: R; cpuMsPerAttempt: StepCpu[] }> {
  let core: Awaited<ReturnType<typeof startCore>> | undefined;
  let load: LoadProcess<R> | undefined;
  try {
    step(`${job.kind} storm (${mode}): starting the core`);
    core = await startCore(storm, mode);
    const running = core;
    const marks: Array<{ core: number; generator: number }> = [];
    // cpuMsOf counts this process too: the core in the one-process mode, an idle parent in the other.
    load = startLoadProcess<R>(job, { step, mark: () => marks.push({ core: cpuMsOf(running.pids), generator: cpuMsOf([load!.pid], false) }) });
    const result = await load.result;
    const per = (ms: number, attempts: number) => Math.round((ms / attempts) * 100) / 100;
    const cpuMsPerAttempt = result.steps.map((st, k): StepCpu => {
      const core = per(marks[k + 1]!.core - marks[k]!.core, st.attempts);
      const generator = per(marks[k + 1]!.generator - marks[k]!.generator, st.attempts);
      return { core, generator, cores: coresBusy(st.saps, core + generator) };
    });
    return { result, cpuMsPerAttempt };
  } finally {
    await load?.stop();
    await core?.stop().catch(() => undefined);
    rmSync(storm.dir, { recursive: true, force: true });
  }
}
