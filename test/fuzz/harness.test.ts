import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCorpus } from '../../fuzz/corpus/index.js';
import { generatorFor } from '../../fuzz/generate.js';
import { replay, runFuzz, type FuzzSummary } from '../../fuzz/harness.js';
import type { FuzzTarget, TargetRef } from '../../fuzz/types.js';
import { diesLive, exhaustsMemory, hangs, throwsTypeError, triggers } from './fixtures/broken-targets.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'imslab-fuzz-'));
  dirs.push(d);
  return d;
}

const broken = (exportName: string, name: string): TargetRef => ({
  name,
  module: new URL('./fixtures/broken-targets.ts', import.meta.url).href,
  export: exportName,
});

function findingsOf(s: FuzzSummary, target: string) {
  return s.findings.filter((f) => f.target === target);
}

/** The input the harness generated for (seed, target, index), rebuilt here from scratch. */
function regenerate(target: FuzzTarget, seed: string, index: number): Buffer {
  return generatorFor(target, loadCorpus({}).sip, seed).input(index);
}

describe('the harness fails when a target is broken', () => {
  it('reports an undocumented TypeError with a reproducer that triggers it again, and keeps documented errors quiet', async () => {
    const dir = tempDir();
    const s = await runFuzz({ targets: [broken('throwsTypeError', 'broken-type-error')], inputs: 300, seconds: 20, seed: 'harness-1', findingsDir: dir });
    const found = findingsOf(s, 'broken-type-error');
    // One signature (one bug), saved once, its repeats counted; the SipParseErrors are no findings.
    expect(found).toHaveLength(1);
    const f = found[0]!;
    expect(f.kind).toBe('exception');
    expect(f.message).toMatch(/^TypeError: Cannot read properties of undefined/);
    expect(f.repeats).toBeGreaterThan(10);
    const bin = f.files.find((x) => x.endsWith('.bin'))!;
    expect(bin).toBe(join(dir, `broken-type-error-harness-1-${f.index}.bin`));
    const saved = readFileSync(bin);
    expect(triggers(saved)).toBe(true);
    // The saved input is exactly input number `index` of (seed, target): rebuildable without the run.
    expect(saved.equals(regenerate(throwsTypeError, 'harness-1', f.index))).toBe(true);
    const txt = readFileSync(bin.replace(/\.bin$/, '.txt'), 'utf8');
    expect(txt).toContain('kind: exception');
    expect(txt).toContain(`index: ${f.index}`);
    expect(txt).toMatch(/stack:\nTypeError: Cannot read properties of undefined/);
    expect(txt).toMatch(/seen \d+ more time\(s\)/);
    // Replaying the reproducer fails again.
    const r = await replay(broken('throwsTypeError', 'broken-type-error'), saved, 'harness-1');
    expect(r.outcome).toBe('finding');
    expect(r.message).toMatch(/^TypeError/);
    const stats = s.stats[0]!;
    expect(stats.inputs).toBe(300);
    expect(stats.accepted).toBeGreaterThan(0);
    expect(stats.accepted).toBeLessThan(300);
  }, 60_000);

  it('stops a target that loops forever, saves the input it hung on, and goes on with the next target', async () => {
    const dir = tempDir();
    const s = await runFuzz({
      targets: [broken('hangs', 'broken-hang'), broken('slow', 'broken-slow')],
      inputs: 60,
      seconds: 30,
      seed: 'harness-2',
      findingsDir: dir,
      hangMs: 1500,
    });
    const hang = findingsOf(s, 'broken-hang');
    expect(hang).toHaveLength(1);
    expect(hang[0]!.kind).toBe('hang');
    const input = readFileSync(hang[0]!.files.find((x) => x.endsWith('.bin'))!);
    expect(triggers(input)).toBe(true);
    expect(input.equals(regenerate(hangs, 'harness-2', hang[0]!.index))).toBe(true);
    expect(s.stats[0]!.stopped).toBe('fatal');
    // The second target still ran, and its slow calls (150 ms, three times running) are findings.
    const slowOnes = findingsOf(s, 'broken-slow');
    expect(slowOnes).toHaveLength(1);
    expect(slowOnes[0]!.kind).toBe('slow');
    expect(slowOnes[0]!.message).toMatch(/one call took 1\d\d\.\d ms \(best of three; limit 100 ms\)/);
    expect(triggers(readFileSync(slowOnes[0]!.files.find((x) => x.endsWith('.bin'))!))).toBe(true);
  }, 60_000);

  it('reports heap growth beyond the bound, and an exception thrown later from a callback as a crash', async () => {
    const dir = tempDir();
    const s = await runFuzz({
      targets: [broken('leaks', 'broken-leak'), broken('throwsLater', 'broken-async')],
      inputs: 3000,
      seconds: 30,
      seed: 'harness-3',
      findingsDir: dir,
      maxHeapGrowthMb: 8,
    });
    const leak = findingsOf(s, 'broken-leak');
    expect(leak).toHaveLength(1);
    expect(leak[0]!.kind).toBe('memory');
    expect(leak[0]!.message).toMatch(/heap grew by \d+\.\d MiB over 1500 inputs \(bound 8\.0 MiB\)/);
    expect(leak[0]!.files.every((x) => x.endsWith('.txt'))).toBe(true);
    const stats = s.stats.find((t) => t.target === 'broken-leak')!;
    expect(stats.heapEnd! - stats.heapStart!).toBeGreaterThan(8 * 1048576);

    const crash = findingsOf(s, 'broken-async');
    expect(crash).toHaveLength(1);
    expect(crash[0]!.kind).toBe('crash');
    expect(crash[0]!.message).toBe('RangeError: thrown from a timer callback');
    expect(readFileSync(crash[0]!.files.find((x) => x.endsWith('.txt'))!, 'utf8')).toMatch(/thrown asynchronously: the culprit is one of inputs \d+ to \d+/);
    expect(s.stats.find((t) => t.target === 'broken-async')!.stopped).toBe('fatal');
  }, 60_000);

  it('saves the input on which a worker ran out of memory', async () => {
    const dir = tempDir();
    const s = await runFuzz({ targets: [broken('exhaustsMemory', 'broken-oom')], inputs: 100, seconds: 20, seed: 'harness-5', findingsDir: dir, workerHeapMb: 64 });
    const found = findingsOf(s, 'broken-oom');
    expect(found).toHaveLength(1);
    expect(found[0]!.kind).toBe('crash');
    expect(found[0]!.message).toMatch(/ERR_WORKER_OUT_OF_MEMORY/);
    const input = readFileSync(found[0]!.files.find((x) => x.endsWith('.bin'))!);
    expect(triggers(input)).toBe(true);
    expect(input.equals(regenerate(exhaustsMemory, 'harness-5', found[0]!.index))).toBe(true);
    expect(s.stats[0]!.stopped).toBe('fatal');
  }, 60_000);

  it('for a live target: reports error notes with the culprit, and a node that stops answering the probe', async () => {
    const dir = tempDir();
    const s = await runFuzz({ targets: [broken('diesLive', 'broken-live')], inputs: 2000, seconds: 20, seed: 'harness-4', findingsDir: dir });
    const found = findingsOf(s, 'broken-live');
    const probe = found.find((f) => f.kind === 'probe')!;
    expect(probe.message).toBe('Error: OPTIONS probe: nothing within 3000 ms');
    // The culprit is the input the node received last: the NOTIFY that killed it.
    const killer = readFileSync(probe.files.find((x) => x.endsWith('.bin'))!);
    expect(killer[0]).toBe(0x4e);
    expect(killer.equals(regenerate(diesLive, 'harness-4', probe.index))).toBe(true);
    expect(readFileSync(probe.files.find((x) => x.endsWith('.txt'))!, 'utf8')).toContain('the node stopped answering the known-good request after this batch');
    const notes = found.filter((f) => f.kind === 'note');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.message).toBe('Note: node noted (error): handler failed');
    expect(triggers(readFileSync(notes[0]!.files.find((x) => x.endsWith('.bin'))!))).toBe(true);
    const stats = s.stats[0]!;
    expect(stats.stopped).toBe('fatal');
    expect(stats.inputs).toBeLessThan(2000);
    expect(stats.accepted).toBe(probe.index + 1);
  }, 60_000);

  it('writes nothing when nothing is found', async () => {
    const dir = join(tempDir(), 'findings');
    const s = await runFuzz({ targets: [broken('leaks', 'broken-leak')], inputs: 50, seconds: 5, seed: 'x', findingsDir: dir });
    expect(s.findings).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 30_000);
});
