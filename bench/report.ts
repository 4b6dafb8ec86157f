/**
 * The readable form of a bench run: one table (figure, value, unit, target, verdict), then why each missed
 * target was missed, why each null figure is null (one line per reason), then the failures with their steps.
 */
import type { BenchReport } from './runner.js';
import { TARGETS } from './targets.js';

/** Ratios: the `ratio.*` keys and the peers' `*_ratio` ones. */
function isRatio(key: string): boolean {
  return key.startsWith('ratio.') || key.endsWith('_ratio');
}

function unit(key: string): string {
  if (isRatio(key)) return '×';
  if (key.includes('bytes')) return 'bytes';
  if (key.includes('_per_s')) return '/s';
  if (key.includes('saps')) return 'SAPS';
  if (key.includes('streams')) return 'streams';
  return '';
}

function formatValue(key: string, v: number | null): string {
  if (v === null) return 'n/a';
  if (isRatio(key)) return v.toFixed(3);
  return Math.round(v).toLocaleString('en');
}

function formatTarget(key: string): string {
  const t = TARGETS.find((x) => x.key === key);
  if (!t) return '';
  return `${t.op} ${t.value.toLocaleString('en')}`;
}

function verdict(report: BenchReport, key: string): string {
  const v = report.targets[key];
  const t = TARGETS.find((x) => x.key === key);
  if (!v || !t) return '';
  if (v.met === null || v.ratio === null) return 'not measured';
  if (v.met) return t.op === '>=' ? `met (${v.ratio.toFixed(2)}× target)` : `met (${Math.round(v.ratio * 100)} % of limit)`;
  return t.op === '>=' ? `MISSED (${Math.round(v.ratio * 100)} % of target)` : `MISSED (${v.ratio.toFixed(2)}× the limit)`;
}

export function formatReport(report: BenchReport): string {
  const rows: string[][] = [['figure', 'value', 'unit', 'target', 'verdict']];
  for (const [key, value] of Object.entries(report.figures)) {
    rows.push([key, formatValue(key, value), unit(key), formatTarget(key), verdict(report, key)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];

  // Null figures share reasons (a whole suite is absent): say each reason once, with the keys it covers.
  const reasons = new Map<string, string[]>();
  for (const [key, value] of Object.entries(report.figures)) {
    if (value !== null) continue;
    const why = report.notes[key] ?? 'no reason recorded';
    reasons.set(why, [...(reasons.get(why) ?? []), key]);
  }
  // Issue 7: a missed target says by how much (the verdict) and why (what the run measured that explains it).
  const missed = Object.entries(report.targets).filter(([, v]) => v.met === false);
  if (missed.length > 0) {
    out.push('', 'why missed:');
    for (const [key, v] of missed) {
      out.push(`  ${key}: ${formatValue(key, report.figures[key] ?? null)} against ${v.target}`);
      for (const why of v.why ?? ['no explanation recorded']) out.push(`    - ${why}`);
    }
  }
  if (reasons.size > 0) {
    out.push('', 'not measured:');
    for (const [why, keys] of reasons) out.push(`  ${keys.join(', ')}`, `    ${why}`);
  }
  if (report.failures.length > 0) {
    out.push('', 'FAILED:');
    for (const f of report.failures) out.push(`  suite ${f.suite}, step "${f.step}": ${f.message}`);
  }
  const r = report.run;
  out.push(
    '',
    `${r.quick ? 'quick run, ' : ''}${r.seconds} s windows, ${r.elapsedSeconds} s in all (limit ${r.limitSeconds} s); Node ${r.node}, ${r.cpus} × ${r.cpuModel}`,
  );
  return out.join('\n');
}
