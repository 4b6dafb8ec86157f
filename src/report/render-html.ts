/**
 * The report as one self-contained HTML page for a person: inline CSS, no script, per UE a table of
 * requirements with a green / red / grey status, the clause and the evidence. Everything that came from the
 * wire (display names, URIs, header values, User-Agent) is hostile input and is escaped, always.
 */
import type { ReportJson, RequirementJson, UeJson } from './model.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML text and attribute escape; control characters other than tab and newline become U+FFFD. */
export function escapeHtml(s: string): string {
  let out = '';
  for (const ch of s) {
    const e = ESCAPES[ch];
    if (e) out += e;
    else {
      const c = ch.codePointAt(0)!;
      out += (c < 32 && c !== 9 && c !== 10) || c === 127 ? '\uFFFD' : ch;
    }
  }
  return out;
}

const STATUS_TEXT: Record<RequirementJson['status'], string> = { met: 'met', 'not-met': 'not met', 'not-applicable': 'n/a' };

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d1d1f;background:#fafafa}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .25rem}
.meta{color:#555;margin:.1rem 0}
table{border-collapse:collapse;width:100%;margin-top:.6rem;background:#fff}
th,td{border:1px solid #ddd;padding:.4rem .55rem;vertical-align:top;text-align:left}
th{background:#f0f0f3;font-weight:600}
td.s{white-space:nowrap;font-weight:600;text-align:center}
tr.met td.s{background:#d9f2dd;color:#135c1f}
tr.not-met td.s{background:#fbdada;color:#8a1111}
tr.not-applicable td.s{background:#ececec;color:#666}
tr.not-applicable{color:#777}
code,.ev{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px;word-break:break-word;white-space:pre-wrap}
.advice{color:#444;margin-top:.3rem}
.sum span{display:inline-block;margin-right:1rem}
`;

function row(r: RequirementJson): string {
  return (
    `<tr class="${r.status}"><td class="s">${STATUS_TEXT[r.status]}</td>` +
    `<td>${escapeHtml(r.title)}<br><code>${escapeHtml(r.id)}</code></td>` +
    `<td>${escapeHtml(r.clause)}</td>` +
    `<td><div class="ev">${escapeHtml(r.evidence)}</div>${r.advice ? `<div class="advice">${escapeHtml(r.advice)}</div>` : ''}</td></tr>`
  );
}

function ueSection(u: UeJson, i: number): string {
  const who = u.identity.impu ?? u.identity.impi ?? u.address;
  return [
    `<section id="ue-${i + 1}">`,
    `<h2>UE ${i + 1}: ${escapeHtml(who)}</h2>`,
    `<p class="meta">IMPI ${escapeHtml(u.identity.impi ?? '—')} · IMPU ${escapeHtml(u.identity.impu ?? '—')} · ${escapeHtml(u.transport.toUpperCase())} ${escapeHtml(u.endpoints.join(', '))}</p>`,
    `<p class="meta">User-Agent: ${escapeHtml(u.userAgent ?? '—')} · messages seen ${u.messages.seen}, kept ${u.messages.kept}, unparsable ${u.messages.unparsable}</p>`,
    `<p class="meta sum"><span>met ${u.summary.met}</span><span>not met ${u.summary.notMet}</span><span>n/a ${u.summary.notApplicable}</span></p>`,
    '<table><thead><tr><th>status</th><th>requirement</th><th>clause</th><th>evidence and advice</th></tr></thead><tbody>',
    ...u.requirements.map(row),
    '</tbody></table></section>',
  ].join('\n');
}

export function renderHtml(report: ReportJson): string {
  const s = report.summary;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No script may run, whatever the wire put into the page.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<title>imslab conformance report (TS 24.229 §5.1)</title>',
    `<style>${CSS}</style></head><body>`,
    '<h1>Conformance of outside UEs to TS 24.229 §5.1</h1>',
    `<p class="meta">Generated at ${escapeHtml(new Date(report.generatedAt).toISOString())} · ${s.ues} UE(s) · met ${s.met} · not met ${s.notMet} · n/a ${s.notApplicable}${s.untracked ? ` · ${s.untracked} further endpoint(s) not tracked (UE cap)` : ''}</p>`,
    report.ues.length === 0 ? '<p>No outside UE talked to the P-CSCF.</p>' : report.ues.map(ueSection).join('\n'),
    '</body></html>',
    '',
  ].join('\n');
}
