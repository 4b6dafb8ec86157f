/**
 * The conformance report's public face: the collector, its renderers, and the two small adapters the CLI
 * needs (`--report FILE.json|FILE.html`, and the HSS record as the AKA doctor's subscriber).
 */
import type { DoctorSubscriber } from '../aka/doctor.js';
import type { ReportJson } from './model.js';
import { renderHtml } from './render-html.js';
import { renderJson } from './render-json.js';

export { ConformanceReport, type ConformanceReportOptions } from './conformance.js';
export { renderHtml, escapeHtml } from './render-html.js';
export { renderJson } from './render-json.js';
export { REQUIREMENTS } from './requirements/index.js';
export type { ReportJson, UeJson, RequirementJson, Requirement, RequirementStatus, SubscriberLookup } from './model.js';

export class ReportFormatError extends Error {
  constructor(readonly file: string) {
    super(`--report ${file}: the file name must end in .json or .html (or .htm)`);
    this.name = 'ReportFormatError';
  }
}

/** The report rendered as the file name asks: .json → JSON, .html/.htm → HTML. Throws ReportFormatError otherwise. */
export function renderForFile(file: string, report: ReportJson): string {
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return renderJson(report);
  if (lower.endsWith('.html') || lower.endsWith('.htm')) return renderHtml(report);
  throw new ReportFormatError(file);
}

/**
 * An HSS subscriber record (src/hss/subscriber.ts, structurally) as the AKA doctor wants it: K, OP or OPc
 * (OP preferred when both are stored: OPc is derived from it), AMF and the HSS's SQN.
 */
export function doctorSubscriber(s: { k?: Buffer; op?: Buffer; opc?: Buffer; amf: Buffer; sqn?: bigint }): DoctorSubscriber | undefined {
  if (!s.k || (!s.op && !s.opc)) return undefined;
  const out: DoctorSubscriber = { k: s.k, amf: s.amf, ...(s.op ? { op: s.op } : { opc: s.opc! }) };
  if (s.sqn !== undefined && s.sqn >= 0n && s.sqn < 1n << 48n) {
    const b = Buffer.alloc(6);
    b.writeUIntBE(Number(s.sqn), 0, 6);
    out.sqnHss = b;
  }
  return out;
}
