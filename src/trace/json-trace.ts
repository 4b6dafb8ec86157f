import { createWriteStream, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import type { Endpoint, NoteEvent, PacketEvent, TraceEvent } from './events.js';
import { peekDiameter, peekSip } from './peek.js';

/**
 * The trace as JSON, for researchers: every event with its raw bytes (base64) and, to read it without
 * decoding, the SIP start line or the Diameter command. Field order is fixed and note data keys are sorted,
 * so two seeded runs serialise identically but for the times, which `stripTimes` removes.
 */

export const JSON_TRACE_FORMAT = 'imslab-trace';
export const JSON_TRACE_VERSION = 1;

export interface JsonPacketEvent {
  seq: number;
  time?: number;
  type: 'packet';
  node: string;
  direction: 'send' | 'recv';
  protocol: PacketEvent['protocol'];
  transport: PacketEvent['transport'];
  local: Endpoint;
  remote: Endpoint;
  /** "REGISTER sip:… SIP/2.0", "SIP/2.0 200 OK", "Diameter 303 request (app 16777216)", or "" for media. */
  firstLine: string;
  length: number;
  bytes: string;
}

export interface JsonNoteEvent {
  seq: number;
  time?: number;
  type: 'note';
  node: string;
  level: NoteEvent['level'];
  text: string;
  clause?: string;
  data?: Record<string, unknown>;
}

export type JsonTraceEvent = JsonPacketEvent | JsonNoteEvent;

export interface JsonTrace {
  format: typeof JSON_TRACE_FORMAT;
  version: number;
  /** Time of the first event (ms since the epoch); absent once stripped. */
  start?: number;
  events: JsonTraceEvent[];
}

export function firstLineOf(e: PacketEvent): string {
  if (e.protocol === 'sip') return peekSip(e.bytes)?.startLine ?? '';
  if (e.protocol === 'diameter') {
    const d = peekDiameter(e.bytes);
    return d ? `Diameter ${d.commandCode} ${d.request ? 'request' : 'answer'} (app ${d.applicationId})` : '';
  }
  return '';
}

export function toJsonEvent(e: TraceEvent): JsonTraceEvent {
  if (e.type === 'packet') {
    return {
      seq: e.seq,
      time: e.time,
      type: 'packet',
      node: e.node,
      direction: e.direction,
      protocol: e.protocol,
      transport: e.transport,
      local: { address: e.local.address, port: e.local.port },
      remote: { address: e.remote.address, port: e.remote.port },
      firstLine: firstLineOf(e),
      length: e.bytes.length,
      bytes: e.bytes.toString('base64'),
    };
  }
  return {
    seq: e.seq,
    time: e.time,
    type: 'note',
    node: e.node,
    level: e.level,
    text: e.text,
    ...(e.clause !== undefined ? { clause: e.clause } : {}),
    ...(e.data !== undefined ? { data: sortKeys(e.data) as Record<string, unknown> } : {}),
  };
}

export function toJsonTrace(events: Iterable<TraceEvent>): JsonTrace {
  const out: JsonTraceEvent[] = [];
  for (const e of events) out.push(toJsonEvent(e));
  return { format: JSON_TRACE_FORMAT, version: JSON_TRACE_VERSION, ...(out.length ? { start: out[0]!.time! } : {}), events: out };
}

/** Back to events (for a pcap or a ladder of a saved trace). Throws on a file that is not a trace. */
export function fromJsonTrace(trace: unknown): TraceEvent[] {
  const t = trace as Partial<JsonTrace> | null;
  if (!t || t.format !== JSON_TRACE_FORMAT || !Array.isArray(t.events)) throw new Error(`not an ${JSON_TRACE_FORMAT} JSON trace`);
  if (t.version !== JSON_TRACE_VERSION) throw new Error(`${JSON_TRACE_FORMAT} version ${String(t.version)} is not supported (expected ${JSON_TRACE_VERSION})`);
  return t.events.map((e, i): TraceEvent => {
    const time = e.time ?? 0;
    if (e.type === 'packet') {
      if (typeof e.bytes !== 'string') throw new Error(`events[${i}]: packet without bytes`);
      const { firstLine: _f, length: _l, bytes, ...rest } = e;
      return { ...rest, time, bytes: Buffer.from(bytes, 'base64') };
    }
    if (e.type === 'note') return { ...e, time };
    throw new Error(`events[${i}]: unknown event type ${JSON.stringify((e as { type?: unknown }).type)}`);
  });
}

/** The same trace without event times and start: what two runs with one seed must agree on. */
export function stripTimes(trace: JsonTrace): JsonTrace {
  return {
    format: trace.format,
    version: trace.version,
    events: trace.events.map((e) => {
      const { time: _t, ...rest } = e;
      return rest as JsonTraceEvent;
    }),
  };
}

/** Two-space JSON with a final newline: diffable in git. */
export function serializeJsonTrace(trace: JsonTrace): string {
  return JSON.stringify(trace, null, 2) + '\n';
}

export function writeJsonTrace(file: string, events: Iterable<TraceEvent>): void {
  writeFileSync(file, serializeJsonTrace(toJsonTrace(events)));
}

/**
 * JSON Lines while a run goes on: one event per line, so `tail -f` and `jq` work and a crash loses at most
 * the last line. `fromJsonLines` reads it back.
 */
export class JsonLinesWriter {
  private readonly out: Writable;
  private readonly owns: boolean;
  private closed = false;

  constructor(target: string | Writable) {
    this.owns = typeof target === 'string';
    this.out = typeof target === 'string' ? createWriteStream(target) : target;
  }

  write(e: TraceEvent): void {
    if (!this.closed) this.out.write(JSON.stringify(toJsonEvent(e)) + '\n');
  }

  attach(events$: Observable<TraceEvent>): Subscription {
    return events$.subscribe((e) => this.write(e));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve, reject) => {
      if (this.owns) {
        this.out.once('error', reject);
        this.out.end(() => resolve());
      } else this.out.write('', () => resolve());
    });
  }
}

export function fromJsonLines(text: string): TraceEvent[] {
  const events = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as JsonTraceEvent;
      } catch {
        throw new Error(`line ${i + 1}: not JSON`);
      }
    });
  return fromJsonTrace({ format: JSON_TRACE_FORMAT, version: JSON_TRACE_VERSION, events });
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
