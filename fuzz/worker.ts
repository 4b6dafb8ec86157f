/**
 * One fuzz worker: one target, a fresh heap. It generates the inputs (fuzz/generate.ts), runs them, and
 * reports findings and figures to the supervisor. Everything it must not be trusted to report itself (a
 * hang, running out of memory) the supervisor sees through the shared progress slots.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { corpusOf, loadCorpus } from './corpus/index.js';
import { generatorFor, type InputGenerator } from './generate.js';
import { Phase, PROGRESS_BEAT, PROGRESS_INDEX, PROGRESS_PHASE, type WorkerConfig, type WorkerMessage } from './protocol.js';
import type { Finding, FindingKind, FuzzInput, FuzzTarget, TargetInstance, TargetStats } from './types.js';

const config = workerData as WorkerConfig;
const progress = new Int32Array(config.progress);

function post(m: WorkerMessage): void {
  parentPort!.postMessage(m);
}

/** A full GC, with or without --expose-gc. */
function collect(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapAfterGc(gc: () => void): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Same kind, same error type, same message shape (digits blanked), same place: the same bug. */
function signature(kind: FindingKind, e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  // Where an exception was thrown tells bugs apart; a node's note or a probe failure has no useful place.
  const placed = kind === 'exception' || kind === 'property' || kind === 'crash';
  const frame = placed ? ((err.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) ?? '') : '';
  // Quoted input excerpts and numbers differ from input to input; the shape of the message does not.
  const shape = err.message.replace(/"(?:[^"\\]|\\.)*"/g, '"…"').replace(/\d+/g, '#').slice(0, 80);
  return `${kind}|${err.name}|${shape}|${frame.trim()}`;
}

const seen = new Map<string, Finding>();
let distinct = 0;
let current: { index: number; bytes?: Buffer } = { index: -1 };
let inputs = 0;
let accepted = 0;
let started = performance.now();
let slowest = 0;

function report(kind: FindingKind, e: unknown, index: number, input: Buffer | undefined, detail?: string[]): void {
  const sig = signature(kind, e);
  const earlier = seen.get(sig);
  if (earlier) {
    earlier.repeats = (earlier.repeats ?? 0) + 1;
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const finding: Finding = {
    target: config.ref.name,
    seed: config.seed,
    index,
    kind,
    message: `${err.name}: ${err.message}`.slice(0, 2000),
    ...(err.stack ? { stack: err.stack.slice(0, 4000) } : {}),
    ...(input ? { input } : {}),
    ...(detail ? { detail } : {}),
  };
  seen.set(sig, finding);
  distinct++;
  post({ type: 'finding', finding });
}

/** A failing mutator is a bug of the fuzzer, not of the target: say so. */
function generate(gen: InputGenerator, index: number): Buffer {
  try {
    return gen.input(index);
  } catch (e) {
    throw new Error(`the input generator failed on input ${index}: ${(e as Error).stack ?? String(e)}`);
  }
}

/** What a node under test noted: its text is the finding; the fuzzer's own stack would only mislead. */
function noted(message: string): Error {
  const e = new Error(message);
  e.name = 'Note';
  e.stack = '';
  return e;
}

function isExpected(target: FuzzTarget, e: unknown): boolean {
  return target.expected.some((c) => e instanceof c);
}

// An exception nobody caught (a socket callback, a timer, a promise): the node would have crashed.
let instance: TargetInstance | undefined;
let finished = false;
/** In-process targets run synchronously and yield every YIELD_EVERY inputs: an asynchronous throw comes from that window. */
const YIELD_EVERY = 64;
let windowStart = 0;
const crash = (e: unknown) => {
  const culprit = instance?.culprit?.();
  const detail = culprit ? undefined : [`thrown asynchronously: the culprit is one of inputs ${windowStart} to ${current.index}; this is the last of them`];
  report('crash', e, culprit?.index ?? current.index, culprit?.bytes ?? current.bytes, detail);
  if (!finished) {
    finished = true;
    const seconds = (performance.now() - started) / 1000;
    post({ type: 'done', stats: { target: config.ref.name, inputs, accepted, seconds, perSecond: seconds > 0 ? inputs / seconds : 0, findings: distinct, stopped: 'fatal' }, repeats: [] });
  }
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

async function main(): Promise<void> {
  const mod = (await import(config.ref.module)) as Record<string, unknown>;
  const target = mod[config.ref.export] as FuzzTarget | undefined;
  if (!target || typeof target.create !== 'function') throw new Error(`${config.ref.module} has no fuzz target "${config.ref.export}"`);
  const corpus = loadCorpus(config.corpus);
  const gen = generatorFor(target, corpusOf(corpus, target.corpus), config.seed);
  const gc = collect();
  instance = await target.create({ seed: config.seed });
  started = performance.now();
  const deadline = started + config.seconds * 1000;
  const end = config.start + config.inputs;
  // Warm-up (JIT, lazily built tables, the first connections) is not growth: sample the heap after it.
  const warmupEnd = config.start + Math.min(2000, Math.floor(config.inputs / 10));
  let heapStart: number | undefined;
  let stopped: TargetStats['stopped'] = 'inputs';
  Atomics.store(progress, PROGRESS_PHASE, Phase.Running);

  if (!target.live) {
    const execute = instance.execute!.bind(instance);
    for (let i = config.start; i < end; i++) {
      if (i === warmupEnd) heapStart = heapAfterGc(gc);
      if ((i - config.start) % YIELD_EVERY === 0) {
        if (performance.now() > deadline) {
          stopped = 'time';
          break;
        }
        // Let timers and callbacks the target may have started run, close to the inputs that started them.
        await new Promise((r) => setImmediate(r));
        windowStart = i;
      }
      Atomics.store(progress, PROGRESS_INDEX, i);
      Atomics.add(progress, PROGRESS_BEAT, 1);
      const input = generate(gen, i);
      current = { index: i, bytes: input };
      const t0 = performance.now();
      try {
        if (execute(input)) accepted++;
      } catch (e) {
        if (!isExpected(target, e)) report(e instanceof Error && e.name === 'PropertyViolation' ? 'property' : 'exception', e, i, input);
      }
      const took = performance.now() - t0;
      if (took > slowest) slowest = took;
      inputs++;
      if (took > config.perInputMs) await slowCheck(execute, input, i, took);
      if (distinct >= config.maxFindings) {
        stopped = 'fatal';
        break;
      }
    }
  } else {
    const batchSize = target.batchSize ?? 50;
    for (let i = config.start; i < end; i += batchSize) {
      if (heapStart === undefined && i >= warmupEnd) heapStart = heapAfterGc(gc);
      if (performance.now() > deadline) {
        stopped = 'time';
        break;
      }
      const batch: FuzzInput[] = [];
      for (let k = i; k < Math.min(end, i + batchSize); k++) batch.push({ index: k, bytes: generate(gen, k) });
      Atomics.store(progress, PROGRESS_INDEX, i);
      Atomics.add(progress, PROGRESS_BEAT, 1);
      current = { index: i };
      await instance.deliver!(batch);
      inputs += batch.length;
      try {
        await instance.probe!();
        Atomics.add(progress, PROGRESS_BEAT, 1);
      } catch (e) {
        const culprit = instance.culprit?.();
        for (const o of instance.drain!()) report('note', noted(o.message), o.index ?? i, o.bytes, [`batch: inputs ${i} to ${i + batch.length - 1}`]);
        report('probe', e, culprit?.index ?? i, culprit?.bytes, [`batch: inputs ${i} to ${i + batch.length - 1}`, 'the node stopped answering the known-good request after this batch']);
        stopped = 'fatal';
        break;
      }
      for (const o of instance.drain!()) report('note', noted(o.message), o.index ?? i, o.bytes, [`batch: inputs ${i} to ${i + batch.length - 1}`]);
      if (distinct >= config.maxFindings) {
        stopped = 'fatal';
        break;
      }
    }
    accepted = instance.received?.() ?? inputs;
  }
  const seconds = (performance.now() - started) / 1000;
  Atomics.store(progress, PROGRESS_PHASE, Phase.Finishing);
  Atomics.add(progress, PROGRESS_BEAT, 1);
  await instance.settle?.();
  for (const o of instance.drain?.() ?? []) report('note', noted(o.message), o.index ?? end - 1, o.bytes);
  const heapEnd = heapAfterGc(gc);
  if (heapStart !== undefined && heapEnd - heapStart > config.maxHeapGrowth) {
    const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
    report('memory', new Error(`heap grew by ${mb(heapEnd - heapStart)} over ${inputs} inputs (bound ${mb(config.maxHeapGrowth)})`), config.start + inputs - 1, undefined, [
      `heap after warm-up: ${mb(heapStart)}; at the end: ${mb(heapEnd)} (process.memoryUsage().heapUsed after GC)`,
      `reproduce: the same seed, target and input count`,
    ]);
  }
  await instance.close();
  const stats: TargetStats = {
    target: config.ref.name,
    inputs,
    accepted,
    seconds,
    perSecond: seconds > 0 ? inputs / seconds : 0,
    findings: distinct,
    ...(target.live ? {} : { slowestMs: slowest }),
    ...(heapStart !== undefined ? { heapStart } : {}),
    heapEnd,
    stopped,
  };
  // Repeat counts went up after each finding was sent: the final numbers go with the stats.
  const repeats = [...seen.values()].filter((f) => f.repeats).map((f) => ({ index: f.index, kind: f.kind, repeats: f.repeats! }));
  finished = true;
  post({ type: 'done', stats, repeats });

  async function slowCheck(execute: (b: Buffer) => boolean, input: Buffer, index: number, first: number): Promise<void> {
    // A GC pause or a busy machine can make one call slow: only a call slow three times running, a moment
    // apart, is a finding.
    let best = first;
    for (let k = 0; k < 2 && best > config.perInputMs; k++) {
      await new Promise((r) => setTimeout(r, 25));
      const t = performance.now();
      try {
        execute(input);
      } catch {
        // Already judged on the first run.
      }
      best = Math.min(best, performance.now() - t);
    }
    if (best > config.perInputMs) {
      report('slow', new Error(`one call took ${best.toFixed(1)} ms (best of three; limit ${config.perInputMs} ms)`), index, input, [`input length: ${input.length} octets`]);
    }
  }
}

main().catch(crash);
