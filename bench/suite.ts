/**
 * The contract between the bench harness and one suite. A suite measures some figures, each under a dotted
 * key (`ceiling.udp_roundtrips_per_s`), in a process of its own. Adding a measurement (a registration storm
 * once the CSCFs exist) is one more BenchSuite in suites.ts: nothing else in the harness changes.
 */

/** A figure's value; null when it could not be measured (the reason goes under `notes`, same key). */
export type FigureValue = number | null;

export interface SuiteContext {
  /** Length of one measuring window, in seconds. */
  readonly seconds: number;
  /** The short run (`--quick`): smaller counts and windows, same figures. */
  readonly quick: boolean;
  /**
   * Names the step the suite is in. A suite that fails or overruns is reported with the last step named, so
   * that "the step where it happened" is known (issue 7, bad input).
   */
  step(name: string): void;
}

export interface SuiteOutput {
  figures: Record<string, FigureValue>;
  /** Per key (or per suite name): what a figure measures exactly, or why it is null. */
  notes?: Record<string, string>;
  /** Raw observations behind the figures (per-step results), kept in the JSON for whoever wants them. */
  details?: unknown;
}

export interface BenchSuite {
  readonly name: string;
  readonly title: string;
  /** Every key the suite reports: known in advance so that a suite that did not run still shows its keys. */
  readonly keys: readonly string[];
  /** Wall-clock budget of the whole suite (child start included), in seconds; the runner stops it after. */
  budgetSeconds(ctx: Pick<SuiteContext, 'seconds' | 'quick'>): number;
  /** Node flags the suite's child process needs (`--expose-gc`). */
  readonly nodeFlags?: readonly string[];
  /**
   * Undefined when the suite can run here; otherwise why not (the code it measures does not exist yet, a
   * tool is not installed). Such a suite is never started: its keys are null with this reason.
   */
  unavailable?(): Promise<string | undefined>;
  run(ctx: SuiteContext): Promise<SuiteOutput>;
}

/** What a suite's child process prints on stdout, as one JSON document. */
export interface SuiteReport {
  suite: string;
  ok: boolean;
  figures: Record<string, FigureValue>;
  notes: Record<string, string>;
  details?: unknown;
  /** When ok is false: the step it was in and what went wrong. */
  failure?: { step: string; message: string };
  /** Wall-clock seconds the suite took, child start excluded. */
  elapsedSeconds: number;
}

/** Prefix of the progress lines a suite child writes to stderr; the runner reads the step names from them. */
export const STEP_PREFIX = 'bench-step: ';
