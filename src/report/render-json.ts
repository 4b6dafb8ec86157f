/**
 * The report as JSON: keys in a fixed order (the order ConformanceReport builds them), two-space indent and a
 * final newline, so that two runs of a seeded topology give byte-identical files.
 */
import type { ReportJson } from './model.js';

export function renderJson(report: ReportJson): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
