/**
 * What the supervisor and a fuzz worker say to each other. The worker writes the index it is working on and a
 * heartbeat into shared memory before every input, so the supervisor can tell a hang from slow progress and
 * name the input even when the worker's event loop is stuck and can send nothing.
 */
import type { CorpusOptions } from './corpus/index.js';
import type { Finding, FindingKind, TargetRef, TargetStats } from './types.js';

export const PROGRESS_INDEX = 0;
export const PROGRESS_BEAT = 1;
export const PROGRESS_PHASE = 2;
export const PROGRESS_SLOTS = 4;

export const Phase = { Starting: 0, Running: 1, Finishing: 2 } as const;

export interface WorkerConfig {
  ref: TargetRef;
  seed: string;
  /** First input index (to regenerate a range of an earlier run). */
  start: number;
  inputs: number;
  seconds: number;
  /** A call slower than this (ms, best of three) is a finding. */
  perInputMs: number;
  /** Heap growth (bytes, after GC) from the end of warm-up to the end that is a finding. */
  maxHeapGrowth: number;
  /** Distinct findings after which the target stops. */
  maxFindings: number;
  corpus: CorpusOptions;
  progress: SharedArrayBuffer;
}

export type WorkerMessage =
  | { type: 'finding'; finding: Finding }
  | { type: 'done'; stats: TargetStats; repeats: Array<{ index: number; kind: FindingKind; repeats: number }> };
