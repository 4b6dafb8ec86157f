/**
 * The readable form of a fuzz run: one row per target (inputs, how many the target accepted or the node
 * received, inputs per second, the slowest single call, heap growth, findings), then every finding with the
 * file that reproduces it.
 */
import type { FuzzSummary } from './harness.js';

const mib = (n: number) => `${(n / 1048576).toFixed(1)}`;

export function formatSummary(s: FuzzSummary): string {
  const rows: string[][] = [['target', 'inputs', 'accepted', 'inputs/s', 'slowest ms', 'heap Δ MiB', 'findings', 'stopped']];
  for (const t of s.stats) {
    rows.push([
      t.target,
      t.inputs.toLocaleString('en'),
      t.inputs ? `${((t.accepted / t.inputs) * 100).toFixed(0)} %` : '-',
      Math.round(t.perSecond).toLocaleString('en'),
      t.slowestMs !== undefined ? t.slowestMs.toFixed(1) : '-',
      t.heapStart !== undefined && t.heapEnd !== undefined ? mib(t.heapEnd - t.heapStart) : '-',
      String(t.findings),
      t.stopped,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const total = s.stats.reduce((n, t) => n + t.inputs, 0);
  lines.push('', `${total.toLocaleString('en')} inputs in ${s.seconds.toFixed(1)} s, seed ${s.seed}, corpus ${s.corpus.fingerprint}: ${s.corpus.sources.join('; ')}`);
  lines.push('accepted: inputs the decoder accepted, or for live targets the messages the node received');
  if (s.findings.length === 0) {
    lines.push('no findings');
  } else {
    lines.push('', `${s.findings.length} finding(s):`);
    for (const f of s.findings) {
      const repeats = f.repeats ? ` (+${f.repeats} like it)` : '';
      lines.push(`  ${f.target} ${f.kind} at input ${f.index}${repeats}: ${f.message.split('\n')[0]!.slice(0, 200)}`);
      lines.push(`    ${f.files.join('  ')}`);
    }
  }
  return lines.join('\n');
}
