/**
 * A finding on disk: `<target>-<seed>-<index>.bin` holds the input exactly as the target got it, and the .txt
 * beside it says what went wrong, where, and how to run it again.
 */
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Finding } from './types.js';

export interface SavedFinding extends Finding {
  /** The .bin (when there is an input) and the .txt. */
  files: string[];
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || '_';
}

export function saveFinding(dir: string, f: Finding, context: { corpus: string }): SavedFinding {
  mkdirSync(dir, { recursive: true });
  let base = `${safe(f.target)}-${safe(f.seed)}-${f.index}`;
  // Two findings on one input (say an exception, then slowness) keep both.
  if (existsSync(join(dir, `${base}.txt`))) base += `-${f.kind}`;
  for (let n = 2; existsSync(join(dir, `${base}.txt`)); n++) base = `${base.replace(/~\d+$/, '')}~${n}`;
  const files: string[] = [];
  const lines = [
    `target: ${f.target}`,
    `kind: ${f.kind}`,
    `seed: ${f.seed}`,
    `index: ${f.index}`,
    `corpus: ${context.corpus}`,
    `error: ${f.message}`,
    ...(f.detail ?? []),
  ];
  if (f.input) {
    const bin = join(dir, `${base}.bin`);
    writeFileSync(bin, f.input);
    files.push(bin);
    lines.push(`input: ${f.input.length} octets in ${base}.bin`);
    lines.push(`replay: npx imslab fuzz --targets ${f.target} --replay ${bin}`);
  }
  lines.push(`regenerate: npx imslab fuzz --targets ${f.target} --seed ${f.seed} --start ${f.index} --inputs 1`);
  if (f.stack) lines.push('', 'stack:', f.stack);
  const txt = join(dir, `${base}.txt`);
  writeFileSync(txt, lines.join('\n') + '\n');
  files.push(txt);
  return { ...f, files };
}

export function noteRepeats(saved: SavedFinding, repeats: number): void {
  saved.repeats = repeats;
  const txt = saved.files.find((f) => f.endsWith('.txt'));
  if (txt) appendFileSync(txt, `\nseen ${repeats} more time(s) in this run with the same signature (not saved again)\n`);
}
