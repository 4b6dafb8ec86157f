/**
 * The fuzz supervisor: runs each target in a worker thread of its own (a fresh heap, and a thread that can
 * be stopped even in an endless loop), watches the progress the worker writes to shared memory, and saves
 * every finding as it arrives. Targets run one after another; each gets an equal share of the inputs and of
 * the time that is left, so targets that finish early give their time to the slower live ones.
 */
import { Worker } from 'node:worker_threads';
import { corpusOf, loadCorpus, type Corpus, type CorpusOptions } from './corpus/index.js';
import { noteRepeats, saveFinding, type SavedFinding } from './findings.js';
import { generatorFor } from './generate.js';
import { Phase, PROGRESS_BEAT, PROGRESS_INDEX, PROGRESS_PHASE, PROGRESS_SLOTS, type WorkerConfig, type WorkerMessage } from './protocol.js';
import type { Finding, FuzzTarget, TargetRef, TargetStats } from './types.js';

export interface FuzzOptions {
  targets: readonly TargetRef[];
  /** Inputs across all targets. */
  inputs: number;
  /** Time for running inputs across all targets (worker start-up and teardown come on top). */
  seconds: number;
  seed: string;
  /** First input index of every target (default 0): with `inputs` = 1 it rebuilds one saved input. */
  start?: number;
  findingsDir: string;
  /** Default 100 ms. */
  perInputMs?: number;
  /** No progress for this long is a hang (default 10 s). */
  hangMs?: number;
  /** Default 32 MiB. */
  maxHeapGrowthMb?: number;
  /** Distinct findings per target before it stops (default 20). */
  maxFindings?: number;
  /** Heap limit of each worker (default 1024 MiB): an input that needs more is a crash finding. */
  workerHeapMb?: number;
  corpus?: CorpusOptions;
  /** Progress lines for a person (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface FuzzSummary {
  seed: string;
  seconds: number;
  stats: TargetStats[];
  findings: SavedFinding[];
  corpus: { sources: string[]; fingerprint: string };
}

const WORKER_ENTRY = new URL('./worker-entry.mjs', import.meta.url);

export async function loadTarget(ref: TargetRef): Promise<FuzzTarget> {
  const mod = (await importTypeScript(ref.module)) as Record<string, unknown>;
  const t = mod[ref.export] as FuzzTarget | undefined;
  if (!t || typeof t.create !== 'function') throw new Error(`${ref.module} exports no fuzz target "${ref.export}"`);
  return t;
}

declare const IMSLAB_BUNDLE: boolean | undefined;
let tsxRegistered: Promise<void> | undefined;

/**
 * Imports a TypeScript module by URL. Run from the CLI's bundle (bin/bundle.mjs defines IMSLAB_BUNDLE), this
 * thread has no TypeScript loader: tsx is registered before the first such import, as a fuzz worker does for
 * itself (worker-entry.mjs). Under vitest or tsx the module loads as it is.
 */
async function importTypeScript(url: string): Promise<unknown> {
  if (typeof IMSLAB_BUNDLE !== 'undefined') {
    tsxRegistered ??= import('tsx/esm/api').then(({ register }) => void register());
    await tsxRegistered;
  }
  return import(url);
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const began = performance.now();
  const corpus = loadCorpus(o.corpus);
  const findings: SavedFinding[] = [];
  const stats: TargetStats[] = [];
  const perTarget = Math.max(1, Math.ceil(o.inputs / Math.max(1, o.targets.length)));
  for (let t = 0; t < o.targets.length; t++) {
    const ref = o.targets[t]!;
    const used = (performance.now() - began) / 1000;
    const seconds = Math.max(0.5, (o.seconds - used) / (o.targets.length - t));
    const target = await loadTarget(ref);
    o.log?.(`${ref.name}: up to ${perTarget} inputs in ${seconds.toFixed(1)} s`);
    const s = await runTarget(ref, target, corpus, o, perTarget, seconds, findings);
    stats.push(s);
    o.log?.(`${ref.name}: ${s.inputs} inputs, ${Math.round(s.perSecond)}/s, ${s.findings} finding(s)`);
  }
  return {
    seed: o.seed,
    seconds: (performance.now() - began) / 1000,
    stats,
    findings,
    corpus: { sources: corpus.sources, fingerprint: corpus.fingerprint },
  };
}

function runTarget(ref: TargetRef, target: FuzzTarget, corpus: Corpus, o: FuzzOptions, inputs: number, seconds: number, findings: SavedFinding[]): Promise<TargetStats> {
  const progress = new SharedArrayBuffer(PROGRESS_SLOTS * 4);
  const view = new Int32Array(progress);
  const start = o.start ?? 0;
  const config: WorkerConfig = {
    ref,
    seed: o.seed,
    start,
    inputs,
    seconds,
    perInputMs: o.perInputMs ?? 100,
    maxHeapGrowth: (o.maxHeapGrowthMb ?? 32) * 1024 * 1024,
    maxFindings: o.maxFindings ?? 20,
    corpus: o.corpus ?? {},
    progress,
  };
  const corpusNote = `${corpus.fingerprint} (${corpus.sources.join('; ')})`;
  const mine: SavedFinding[] = [];
  const save = (f: Finding) => {
    const saved = saveFinding(o.findingsDir, f, { corpus: corpusNote });
    mine.push(saved);
    findings.push(saved);
    o.log?.(`${ref.name}: ${f.kind} at input ${f.index}: ${f.message.split('\n')[0]!.slice(0, 160)} → ${saved.files.at(-1)}`);
  };
  const regenerate = (index: number) => generatorFor(target, corpusOf(corpus, target.corpus), o.seed).input(index);
  const hangMs = o.hangMs ?? 10_000;
  const startedAt = Date.now();

  return new Promise<TargetStats>((resolve) => {
    let stats: TargetStats | undefined;
    let fatal: TargetStats['stopped'] | undefined;
    const worker = new Worker(WORKER_ENTRY, { workerData: config, resourceLimits: { maxOldGenerationSizeMb: o.workerHeapMb ?? 1024 } });
    let lastBeat = -1;
    let lastChange = Date.now();
    const stop = (kind: 'hang' | 'crash', message: string, detail: string[] = []) => {
      const phase = Atomics.load(view, PROGRESS_PHASE);
      const index = Atomics.load(view, PROGRESS_INDEX);
      const running = phase === Phase.Running;
      save({
        target: ref.name,
        seed: o.seed,
        index,
        kind,
        message,
        ...(running && !target.live ? { input: regenerate(index) } : {}),
        detail: [...detail, running ? (target.live ? `during the batch starting at input ${index}` : `while running input ${index}`) : phase === Phase.Starting ? 'while the target was starting' : 'while the target was finishing'],
      });
      fatal = 'fatal';
    };
    const watchdog = setInterval(() => {
      const beat = Atomics.load(view, PROGRESS_BEAT);
      const now = Date.now();
      if (beat !== lastBeat) {
        lastBeat = beat;
        lastChange = now;
      }
      const silentFor = now - lastChange;
      const phase = Atomics.load(view, PROGRESS_PHASE);
      // Start-up (module loading, sockets) gets a minute; then no beat for hangMs is a hang.
      const limit = phase === Phase.Starting ? Math.max(hangMs, 60_000) : hangMs;
      const overall = now - startedAt > (seconds + 120) * 1000;
      if (silentFor > limit || overall) {
        clearInterval(watchdog);
        stop('hang', `Hang: no progress for ${(silentFor / 1000).toFixed(1)} s${overall ? ' (and over the time budget)' : ''}`, [`hang limit: ${limit} ms`]);
        void worker.terminate();
      }
    }, 100);
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'finding') {
        const f = m.finding;
        save({ ...f, ...(f.input ? { input: Buffer.from(f.input.buffer, f.input.byteOffset, f.input.byteLength) } : {}) });
      } else {
        stats = m.stats;
        for (const r of m.repeats) {
          const saved = mine.find((s) => s.index === r.index && s.kind === r.kind);
          if (saved) noteRepeats(saved, r.repeats);
        }
      }
    });
    worker.on('error', (e: Error & { code?: string }) => {
      // Out of memory, or an error thrown where the worker could not catch it.
      if (!stats && !fatal) stop('crash', `${e.name}: ${e.message}${e.code ? ` (${e.code})` : ''}`, e.stack ? ['', 'stack:', e.stack] : []);
    });
    worker.on('exit', (code) => {
      clearInterval(watchdog);
      if (!stats && !fatal) stop('crash', `the worker exited with code ${code} before it reported`);
      const index = Atomics.load(view, PROGRESS_INDEX);
      const elapsed = (Date.now() - startedAt) / 1000;
      const s: TargetStats = stats ?? { target: ref.name, inputs: Math.max(0, index - start), accepted: 0, seconds: elapsed, perSecond: 0, findings: 0, stopped: 'fatal' };
      if (fatal) s.stopped = fatal;
      s.findings = mine.length;
      resolve(s);
    });
  });
}

export interface ReplayResult {
  outcome: 'accepted' | 'rejected' | 'finding';
  message: string;
  ms: number;
}

/** Runs one saved input against a target in this process, once: what a developer does with a .bin. */
export async function replay(ref: TargetRef, bytes: Buffer, seed: string): Promise<ReplayResult> {
  const target = await loadTarget(ref);
  const instance = await target.create({ seed });
  const t0 = performance.now();
  try {
    if (!target.live) {
      try {
        const ok = instance.execute!(bytes);
        return { outcome: ok ? 'accepted' : 'rejected', message: ok ? 'accepted' : 'rejected without an exception', ms: performance.now() - t0 };
      } catch (e) {
        const err = e as Error;
        const expected = target.expected.some((c) => e instanceof c);
        return { outcome: expected ? 'rejected' : 'finding', message: `${err.name}: ${err.message}${expected ? '' : `\n${err.stack ?? ''}`}`, ms: performance.now() - t0 };
      }
    }
    await instance.deliver!([{ index: 0, bytes }]);
    try {
      await instance.probe!();
    } catch (e) {
      return { outcome: 'finding', message: `the node stopped answering: ${(e as Error).message}`, ms: performance.now() - t0 };
    }
    const seen = instance.drain!();
    if (seen.length) return { outcome: 'finding', message: seen.map((s) => s.message).join('\n'), ms: performance.now() - t0 };
    return { outcome: 'accepted', message: 'the node handled it and still answers', ms: performance.now() - t0 };
  } finally {
    await instance.close();
  }
}
