/**
 * The bench harness. The parent (`imslab bench`) starts every selected suite in a fresh Node process
 * (`imslab bench --suite NAME --json -`), so that one suite's garbage, JIT state and sockets cannot skew the
 * next, and stops it when its budget or the run's time limit is spent. A suite that throws, crashes or
 * overruns is reported with the step it was in; the others still run. The child side (`runSuiteHere`) runs
 * one suite and prints a SuiteReport as JSON on stdout.
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SUITES, suiteNamed } from './suites.js';
import { STEP_PREFIX, type BenchSuite, type FigureValue, type SuiteContext, type SuiteReport } from './suite.js';
import { explainMisses } from './misses.js';
import { ratios, verdicts, type Verdict } from './targets.js';

const BIN = fileURLToPath(new URL('../bin/imslab.mjs', import.meta.url));

export type SuiteStatus = 'ok' | 'failed' | 'unavailable' | 'skipped';

export interface SuiteSummary {
  status: SuiteStatus;
  title: string;
  elapsedSeconds?: number;
  failure?: { step: string; message: string };
  details?: unknown;
}

export interface BenchFailure {
  suite: string;
  step: string;
  message: string;
}

export interface BenchReport {
  /** Every figure of every known suite (null when not measured), plus the ratios, under dotted keys. */
  figures: Record<string, FigureValue>;
  /** Per figure key: what it measures exactly, or why it is null. */
  notes: Record<string, string>;
  targets: Record<string, Verdict>;
  suites: Record<string, SuiteSummary>;
  failures: BenchFailure[];
  run: {
    started: string;
    elapsedSeconds: number;
    limitSeconds: number;
    seconds: number;
    quick: boolean;
    node: string;
    cpus: number;
    cpuModel: string;
    memoryBytes: number;
  };
}

export interface BenchOptions {
  seconds: number;
  quick: boolean;
  /** Suite names to run; the others' figures are reported null ("not in --only"). */
  only?: readonly string[];
  /** The whole run stops after this long; a suite is given what is left of it at most. */
  limitSeconds: number;
  /** Makes the named suite fail at its first step, to check the failure path (a harness self-test). */
  injectFailure?: string;
  /** Progress lines for a human (suite started, step entered, suite done). */
  progress?: (line: string) => void;
}

/** Names in `only` that are no suite; empty when all are known. */
export function unknownSuites(only: readonly string[]): string[] {
  return only.filter((n) => !suiteNamed(n));
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const t0 = performance.now();
  const deadline = t0 + opts.limitSeconds * 1000;
  const figures: Record<string, FigureValue> = {};
  const notes: Record<string, string> = {};
  const suites: Record<string, SuiteSummary> = {};
  const failures: BenchFailure[] = [];
  const ctx = { seconds: opts.seconds, quick: opts.quick };

  for (const suite of SUITES) {
    for (const key of suite.keys) figures[key] = null;
    const reason = suite.unavailable ? await suite.unavailable() : undefined;
    if (reason !== undefined) {
      suites[suite.name] = { status: 'unavailable', title: suite.title };
      for (const key of suite.keys) notes[key] = reason;
      continue;
    }
    if (opts.only && !opts.only.includes(suite.name)) {
      suites[suite.name] = { status: 'skipped', title: suite.title };
      for (const key of suite.keys) notes[key] = `not run: ${suite.name} was not in --only`;
      continue;
    }
    const left = (deadline - performance.now()) / 1000;
    const budget = Math.min(suite.budgetSeconds(ctx), left);
    if (budget < 1) {
      const failure = { step: 'not started', message: `no time left within the run's limit of ${opts.limitSeconds} s` };
      failures.push({ suite: suite.name, ...failure });
      suites[suite.name] = { status: 'failed', title: suite.title, failure };
      for (const key of suite.keys) notes[key] = `not measured: the ${suite.name} suite failed (${failure.message})`;
      continue;
    }
    opts.progress?.(`${suite.name}: ${suite.title}`);
    const report = await runSuiteChild(suite, { ...opts, budgetSeconds: budget });
    if (report.ok) {
      suites[suite.name] = { status: 'ok', title: suite.title, elapsedSeconds: report.elapsedSeconds, details: report.details };
      Object.assign(figures, report.figures);
      Object.assign(notes, report.notes);
      opts.progress?.(`${suite.name}: done in ${report.elapsedSeconds} s`);
    } else {
      const failure = report.failure ?? { step: 'unknown', message: 'failed without saying why' };
      failures.push({ suite: suite.name, ...failure });
      suites[suite.name] = { status: 'failed', title: suite.title, elapsedSeconds: report.elapsedSeconds, failure };
      for (const key of suite.keys) notes[key] = `not measured: the ${suite.name} suite failed in step "${failure.step}": ${failure.message}`;
      opts.progress?.(`${suite.name}: FAILED in step "${failure.step}": ${failure.message}`);
    }
  }

  const r = ratios(figures);
  Object.assign(figures, r.figures);
  Object.assign(notes, r.notes);
  const targets = verdicts(figures);
  const run = {
    started: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    elapsedSeconds: Math.round(performance.now() - t0) / 1000,
    limitSeconds: opts.limitSeconds,
    seconds: opts.seconds,
    quick: opts.quick,
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
  };
  for (const [key, why] of Object.entries(explainMisses({ figures, notes, targets, suites, run }))) targets[key]!.why = why;
  return { figures, notes, targets, suites, failures, run };
}

/** The JSON form: figures at the top level under their dotted keys, the rest under plain keys beside them. */
export function reportToJson(report: BenchReport): Record<string, unknown> {
  const { figures, ...rest } = report;
  return { ...figures, ...rest };
}

/** Runs one suite in a child process and reads its SuiteReport; a crash or an overrun becomes a failed report. */
function runSuiteChild(suite: BenchSuite, opts: BenchOptions & { budgetSeconds: number }): Promise<SuiteReport> {
  const args = [
    ...(suite.nodeFlags ?? []),
    BIN,
    'bench',
    '--suite',
    suite.name,
    '--seconds',
    String(opts.seconds),
    '--json',
    '-',
    ...(opts.quick ? ['--quick'] : []),
    ...(opts.injectFailure ? ['--inject-failure', opts.injectFailure] : []),
  ];
  const started = performance.now();
  return new Promise<SuiteReport>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail: string[] = [];
    let partial = '';
    let step = 'starting the suite process';
    let overran = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      // A report is a few kB; anything far larger is not one, and is not kept.
      if (stdout.length < 4_000_000) stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith(STEP_PREFIX)) {
          step = line.slice(STEP_PREFIX.length);
          opts.progress?.(`${suite.name}:   ${step}`);
        } else if (line.trim() !== '' && !line.startsWith('npm warn')) {
          stderrTail = [...stderrTail.slice(-19), line];
        }
      }
    });
    const timer = setTimeout(() => {
      overran = true;
      child.kill('SIGKILL');
    }, opts.budgetSeconds * 1000);
    const elapsed = () => Math.round(performance.now() - started) / 1000;
    const failed = (message: string): SuiteReport => ({
      suite: suite.name,
      ok: false,
      figures: {},
      notes: {},
      failure: { step, message },
      elapsedSeconds: elapsed(),
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve(failed(`could not start the suite process: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (overran) return resolve(failed(`stopped after its budget of ${Math.round(opts.budgetSeconds)} s`));
      const parsed = parseReport(stdout, suite.name);
      if (parsed) return resolve(parsed);
      const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const tail = stderrTail.length > 0 ? `: ${stderrTail.slice(-3).join(' | ')}` : '';
      resolve(failed(`the suite process ${why} without a report${tail}`));
    });
  });
}

function parseReport(stdout: string, name: string): SuiteReport | undefined {
  const line = stdout.trim().split('\n').pop();
  if (!line) return undefined;
  try {
    const r = JSON.parse(line) as SuiteReport;
    return r && r.suite === name && typeof r.ok === 'boolean' && typeof r.figures === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The child side: runs one suite in this process and returns its report. The figures are checked against the
 * suite's declared keys, and every value must be a finite number ≥ 0 or null: a suite cannot report NaN.
 */
export async function runSuiteHere(name: string, opts: { seconds: number; quick: boolean; injectFailure?: string }): Promise<SuiteReport> {
  const found = suiteNamed(name);
  if (!found) throw new Error(`no suite named "${name}" (known: ${SUITES.map((s) => s.name).join(', ')})`);
  const suite: BenchSuite = found;
  const t0 = performance.now();
  let step = 'start';
  const elapsedSeconds = () => Math.round(performance.now() - t0) / 1000;
  const ctx: SuiteContext = {
    seconds: opts.seconds,
    quick: opts.quick,
    step(s) {
      const first = step === 'start';
      step = s;
      process.stderr.write(`${STEP_PREFIX}${s}\n`);
      if (first && opts.injectFailure === suite.name) throw new Error('failure injected by --inject-failure (a self-test of the harness)');
    },
  };
  const fail = (err: unknown): SuiteReport => ({
    suite: suite.name,
    ok: false,
    figures: {},
    notes: {},
    failure: { step, message: err instanceof Error ? err.message : String(err) },
    elapsedSeconds: elapsedSeconds(),
  });
  const measure = async (): Promise<SuiteReport> => {
    try {
      const reason = suite.unavailable ? await suite.unavailable() : undefined;
      if (reason !== undefined) throw new Error(reason);
      const out = await suite.run(ctx);
      step = 'check the figures';
      for (const key of Object.keys(out.figures)) if (!suite.keys.includes(key)) throw new Error(`reported ${key}, which it does not declare`);
      const figures: Record<string, FigureValue> = {};
      for (const key of suite.keys) {
        const v = out.figures[key];
        if (v === undefined) throw new Error(`did not report ${key}`);
        if (v !== null && !(Number.isFinite(v) && v >= 0)) throw new Error(`reported ${key} = ${v}, not a finite number ≥ 0`);
        figures[key] = v;
      }
      return { suite: suite.name, ok: true, figures, notes: out.notes ?? {}, details: out.details, elapsedSeconds: elapsedSeconds() };
    } catch (err) {
      return fail(err);
    }
  };
  // A socket error or a rejected promise nobody awaited must still end in a report that names the step.
  let crashed: (err: unknown) => void = () => {};
  const crash = new Promise<SuiteReport>((resolve) => (crashed = (err) => resolve(fail(err))));
  process.on('uncaughtException', crashed);
  process.on('unhandledRejection', crashed);
  try {
    return await Promise.race([measure(), crash]);
  } finally {
    process.off('uncaughtException', crashed);
    process.off('unhandledRejection', crashed);
  }
}
