import type { Observable, Subscription } from 'rxjs';
import type { NoteEvent, PacketEvent, TraceEvent } from './events.js';
import { explain, nodeAt, rtpHeader, type Explanation, type TraceNode } from './explain.js';
import { WireFilter } from './wire.js';

/**
 * Ladder diagrams (the message sequence charts of TS 24.228) drawn from the trace: one column per node,
 * one arrow per message, and under it why the message exists and which clause says so.
 */

export interface LadderOptions {
  /** Columns, left to right. Addresses of packets are matched to them by IP (any port). */
  nodes: readonly TraceNode[];
  format: 'text' | 'mermaid';
  /** Text only: the terminal width to fit (default 100, at least 60). */
  width?: number;
  /** Show the reason and clause under each message (default true). */
  explain?: boolean;
  /** RTP/RTCP: 'first' packet of each stream (default), 'all', or 'none'. */
  media?: 'first' | 'all' | 'none';
  /** Include debug-level notes (default false). */
  debug?: boolean;
}

interface Row {
  kind: 'message';
  time: number;
  from: number;
  to: number;
  transport: string;
  response: boolean;
  x: Explanation;
}
interface NoteRow {
  kind: 'note';
  time: number;
  column: number | undefined;
  note: NoteEvent;
}

/** Turns events into rows over a growing list of columns (unknown addresses get a column of their own). */
class LadderModel {
  readonly columns: TraceNode[];
  private readonly wire: WireFilter;
  private readonly streams = new Set<string>();
  private start: number | undefined;

  constructor(private readonly opts: LadderOptions) {
    this.columns = [...opts.nodes];
    this.wire = new WireFilter(opts.nodes.map((n) => n.address));
  }

  /** The row for an event, or undefined when it does not belong on the ladder. */
  row(e: TraceEvent): Row | NoteRow | undefined {
    this.start ??= e.time;
    const time = e.time - this.start;
    if (e.type === 'note') {
      if (e.level === 'debug' && !this.opts.debug) return undefined;
      const i = this.columns.findIndex((c) => c.name === e.node);
      return { kind: 'note', time, column: i < 0 ? undefined : i, note: e };
    }
    if (!this.wire.accept(e)) return undefined;
    if ((e.protocol === 'rtp' || e.protocol === 'rtcp') && !this.keepMedia(e)) return undefined;
    const self = this.columnOfNode(e);
    const peer = this.columnOf(e.remote.address);
    const [from, to] = e.direction === 'send' ? [self, peer] : [peer, self];
    const x = explain(e, { nodes: this.columns });
    const response = isResponse(e);
    return { kind: 'message', time, from, to, transport: e.transport, response, x };
  }

  private keepMedia(e: PacketEvent): boolean {
    const mode = this.opts.media ?? 'first';
    if (mode === 'all') return true;
    if (mode === 'none' || e.protocol === 'rtcp') return false;
    const ssrc = rtpHeader(e.bytes)?.ssrc ?? 0;
    const key = `${e.local.address}:${e.local.port}>${e.remote.address}:${e.remote.port}#${ssrc}`;
    if (this.streams.has(key)) return false;
    this.streams.add(key);
    return true;
  }

  private columnOfNode(e: PacketEvent): number {
    const byName = this.columns.findIndex((c) => c.name === e.node);
    return byName >= 0 ? byName : this.columnOf(e.local.address, e.node);
  }

  private columnOf(address: string, name?: string): number {
    const known = nodeAt(this.columns, address);
    if (known) return this.columns.indexOf(known);
    this.columns.push({ name: name ?? address, address });
    return this.columns.length - 1;
  }
}

function isResponse(e: PacketEvent): boolean {
  if (e.protocol === 'sip') return e.bytes.subarray(0, 8).toString('latin1') === 'SIP/2.0 ';
  if (e.protocol === 'diameter') return e.bytes.length > 4 && (e.bytes[4]! & 0x80) === 0;
  return false;
}

export function renderLadder(events: readonly TraceEvent[], options: LadderOptions): string {
  const model = new LadderModel(options);
  const rows: (Row | NoteRow)[] = [];
  for (const e of events) {
    const r = model.row(e);
    if (r) rows.push(r);
  }
  return options.format === 'mermaid' ? renderMermaid(model.columns, rows, options) : renderText(model.columns, rows, options);
}

/**
 * A ladder printed as events arrive. The header is printed first; a participant first seen later (an
 * outside UE) is announced on a line of its own and gets the next column.
 */
export function liveLadder(events$: Observable<TraceEvent>, options: Omit<LadderOptions, 'format'>, write: (line: string) => void): Subscription {
  const opts: LadderOptions = { ...options, format: 'text' };
  const model = new LadderModel(opts);
  const layout = textLayout(model.columns.length, opts);
  write(headerLine(model.columns, layout));
  let seen = model.columns.length;
  return events$.subscribe((e) => {
    const r = model.row(e);
    if (!r) return;
    while (seen < model.columns.length) {
      const c = model.columns[seen]!;
      write(`${' '.repeat(layout.margin)}+ ${c.name} (${c.address}) joins as column ${seen + 1}`);
      seen++;
    }
    for (const line of textRow(r, model.columns, layout, opts)) write(line);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Text.

interface Layout {
  margin: number;
  col: number;
  width: number;
}

const MARGIN = 9;

function textLayout(columns: number, opts: LadderOptions): Layout {
  const width = Math.max(60, opts.width ?? 100);
  // Leave room for a summary after the last lifeline; columns between 8 and 20 characters.
  const col = Math.max(8, Math.min(20, Math.floor((width - MARGIN - 24) / Math.max(1, columns))));
  return { margin: MARGIN, col, width };
}

function lifeline(layout: Layout, i: number): number {
  return layout.margin + i * layout.col;
}

function headerLine(columns: readonly TraceNode[], layout: Layout): string {
  const chars = 't (ms)'.padStart(layout.margin - 2).padEnd(layout.margin).split('');
  columns.forEach((c, i) => {
    const name = c.name.length > layout.col - 1 ? c.name.slice(0, layout.col - 2) + '…' : c.name;
    put(chars, lifeline(layout, i), name);
  });
  return chars.join('').trimEnd();
}

function put(chars: string[], at: number, text: string): void {
  while (chars.length < at) chars.push(' ');
  for (let i = 0; i < text.length; i++) chars[at + i] = text[i]!;
}

function formatTime(ms: number): string {
  const t = Math.round(ms * 10) / 10;
  return (Number.isInteger(t) ? String(t) : t.toFixed(1)).padStart(MARGIN - 2);
}

function textRow(r: Row | NoteRow, columns: readonly TraceNode[], layout: Layout, opts: LadderOptions): string[] {
  if (r.kind === 'note') {
    const mark = r.note.level === 'error' ? 'x' : r.note.level === 'warn' ? '!' : '*';
    const text = `${mark} [${r.note.node}] ${r.note.text}${r.note.clause ? ` (${r.note.clause})` : ''}`;
    const lines = wrap(text, layout.margin, layout.width);
    lines[0] = formatTime(r.time) + lines[0]!.slice(MARGIN - 2);
    return lines;
  }

  const n = columns.length;
  const lastLine = lifeline(layout, n - 1);
  const chars: string[] = [];
  put(chars, 0, formatTime(r.time));
  for (let i = 0; i < n; i++) put(chars, lifeline(layout, i), '|');

  const a = lifeline(layout, r.from);
  const b = lifeline(layout, r.to);
  if (a === b) {
    put(chars, a + 1, '-+');
  } else {
    const left = Math.min(a, b);
    const right = Math.max(a, b);
    for (let x = left + 1; x < right; x++) chars[x] = '-';
    if (b > a) chars[right - 1] = '>';
    else chars[left + 1] = '<';
    const label = ` ${r.x.label} `;
    if (right - left - 4 >= label.length) put(chars, left + 2 + (b > a ? 0 : 1), label);
  }
  const lead = `${chars.join('')}`.padEnd(lastLine + 1);
  const tail = `  ${r.x.summary}${r.transport === 'udp' ? '' : ` [${r.transport}]`}`;
  const first = clip(lead + tail, layout.width);
  const out = [first];
  if (opts.explain !== false) out.push(...wrap(`↳ ${r.x.reason} (${r.x.clause})`, layout.margin + 2, layout.width));
  return out;
}

function clip(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, width - 1) + '…';
}

/** Word-wraps `text` to `width`, every line indented by `indent`. */
function wrap(text: string, indent: number, width: number): string[] {
  const room = Math.max(20, width - indent);
  const pad = ' '.repeat(indent);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(pad + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(pad + line);
  return lines;
}

function renderText(columns: readonly TraceNode[], rows: readonly (Row | NoteRow)[], opts: LadderOptions): string {
  const layout = textLayout(columns.length, opts);
  const lines = [headerLine(columns, layout)];
  const addresses: string[] = ''.padEnd(layout.margin).split('');
  columns.forEach((c, i) => put(addresses, lifeline(layout, i), c.address.length > layout.col - 1 ? c.address.slice(0, layout.col - 2) + '…' : c.address));
  lines.push(addresses.join('').trimEnd());
  for (const r of rows) lines.push(...textRow(r, columns, layout, opts));
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------------
// Mermaid (https://mermaid.js.org sequenceDiagram), for Markdown documents and the docs.

function mermaidText(s: string): string {
  // `;` ends a statement and `#` starts an entity in Mermaid: write both as entity codes.
  return s.replace(/#/g, '#35;').replace(/;/g, '#59;').replace(/[\r\n]+/g, ' ');
}

function renderMermaid(columns: readonly TraceNode[], rows: readonly (Row | NoteRow)[], opts: LadderOptions): string {
  const ids = columns.map((c, i) => (/^[A-Za-z][A-Za-z0-9_]*$/.test(c.name) ? c.name : `p${i}`));
  const lines = ['sequenceDiagram'];
  columns.forEach((c, i) => lines.push(`    participant ${ids[i]} as ${mermaidText(c.name)}<br/>${mermaidText(c.address)}`));
  for (const r of rows) {
    if (r.kind === 'note') {
      const over = ids[r.column ?? 0]!;
      lines.push(`    Note over ${over}: ${mermaidText(`${r.note.level === 'info' ? '' : r.note.level + ': '}${r.note.text}${r.note.clause ? ` (${r.note.clause})` : ''}`)}`);
      continue;
    }
    const arrow = r.response ? '-->>' : '->>';
    lines.push(`    ${ids[r.from]}${arrow}${ids[r.to]}: ${mermaidText(r.x.summary)}`);
    if (opts.explain !== false) {
      const span = r.from === r.to ? ids[r.from] : `${ids[r.from]},${ids[r.to]}`;
      lines.push(`    Note over ${span}: ${mermaidText(`${r.x.reason} (${r.x.clause})`)}`);
    }
  }
  return lines.join('\n') + '\n';
}
