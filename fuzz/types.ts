/**
 * The contract between the fuzz harness and what it fuzzes.
 *
 * A target is a decoder (or a whole node) and the list of errors it is documented to throw for bad input.
 * Every other exception, a property that breaks (a message that parses but does not round-trip), a call
 * slower than the per-input limit, a hang, a crash of the worker or heap growth past a bound is a finding.
 */

/** Which seeds and which mutator feed a target. */
export type CorpusKind = 'sip' | 'uri' | 'sdp' | 'diameter';

// Error classes are matched with instanceof; any constructor of an Error will do.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/** One generated input: reproducible from (seed, target, index) alone. */
export interface FuzzInput {
  index: number;
  bytes: Buffer;
}

/**
 * A property of a decoder broken by an input that it accepted (round trip, chunking independence …).
 * Thrown by targets; always a finding, never an expected error.
 */
export class PropertyViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PropertyViolation';
  }
}

/** What a live target saw go wrong on its own (an error note from the node under test). */
export interface Observation {
  kind: 'note' | 'uncaught';
  message: string;
  stack?: string;
  /** The bytes the node received last before it happened: the likely culprit. */
  bytes?: Buffer;
  /** Index of the input those bytes came from, when known. */
  index?: number;
}

/** A running target, created once per worker. */
export interface TargetInstance {
  /** In-process targets: runs one input synchronously; returns true if the input was accepted. */
  execute?(input: Buffer): boolean;
  /** Live targets: sends a batch to the node (resolves once written, not necessarily processed). */
  deliver?(batch: readonly FuzzInput[]): Promise<void>;
  /** Live targets: proves the node still answers a known-good request; rejects with the reason if not. */
  probe?(): Promise<void>;
  /** Live targets: messages from the fuzzer that the node received (datagrams, framed stream messages). */
  received?(): number;
  /** Live targets: problems seen since the last call. */
  drain?(): Observation[];
  /** Live targets: the last message the node received (and its input index when known): the suspect of a crash or hang. */
  culprit?(): { bytes: Buffer; index?: number } | undefined;
  /** Live targets: waits (bounded) until transient state such as transactions has expired, before the final heap sample. */
  settle?(): Promise<void>;
  close(): Promise<void> | void;
}

export interface TargetContext {
  seed: string;
}

export interface FuzzTarget {
  name: string;
  description: string;
  corpus: CorpusKind;
  /** Live targets talk to a node over loopback sockets and run in batches. */
  live: boolean;
  /** The documented errors for bad input: throwing one of these is the decoder saying "no". */
  expected: readonly ErrorClass[];
  /** Live targets: inputs per batch, each batch followed by a probe. */
  batchSize?: number;
  /**
   * Adapts the corpus before mutation (a live target moves the seeds' addresses onto its own loopback
   * range, so that responses to mutated requests never go to another test's node). Must be deterministic.
   */
  seeds?(corpus: readonly Buffer[]): Buffer[];
  create(ctx: TargetContext): TargetInstance | Promise<TargetInstance>;
}

/** Where the harness finds a target: a module and the name of the FuzzTarget it exports. */
export interface TargetRef {
  name: string;
  module: string;
  export: string;
}

export type FindingKind = 'exception' | 'property' | 'slow' | 'hang' | 'crash' | 'memory' | 'probe' | 'note';

export interface Finding {
  target: string;
  seed: string;
  /** The input's index; for a memory finding the last index run. */
  index: number;
  kind: FindingKind;
  /** Error name and message, or what was seen. */
  message: string;
  stack?: string;
  /** The reproducer; absent when no single input is to blame (memory growth). */
  input?: Buffer;
  /** Extra lines for the .txt (timings, heap samples, batch range). */
  detail?: string[];
  /** Same-signature findings that were not saved again. */
  repeats?: number;
}

export interface TargetStats {
  target: string;
  inputs: number;
  accepted: number;
  seconds: number;
  perSecond: number;
  findings: number;
  /** In-process targets: the longest single call, in ms (the per-input limit applies to it). */
  slowestMs?: number;
  /** Heap used after GC, in bytes, after warm-up and at the end. */
  heapStart?: number;
  heapEnd?: number;
  /** Why the target stopped: inputs done, time budget, or a fatal finding. */
  stopped: 'inputs' | 'time' | 'fatal';
}
