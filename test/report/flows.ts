/**
 * Traces for the conformance report tests: real SIP bytes between outside UEs and the P-CSCF, as the
 * P-CSCF's transport reports them on the trace stream (recv from the UE, send to the UE).
 */
import type { Endpoint, PacketEvent, TraceEvent, TransportProtocol } from '../../src/trace/events.js';

export const PCSCF: Endpoint = { address: '127.0.1.1', port: 5060 };
export const DOMAIN = 'ims.test';
export const SERVICE_ROUTE = `<sip:orig@scscf.${DOMAIN}:6060;lr>`;

/** Joins header lines with CRLF, adds Content-Length, ends the header section. */
export function sip(lines: string[], body = ''): string {
  return `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export class Trace {
  readonly events: TraceEvent[] = [];
  private seq = 0;

  packet(direction: 'send' | 'recv', time: number, ue: Endpoint, text: string | Buffer, transport: TransportProtocol = 'udp', pcscf: Endpoint = PCSCF, node = 'pcscf'): PacketEvent {
    const e: PacketEvent = {
      type: 'packet',
      seq: ++this.seq,
      time,
      node,
      direction,
      protocol: 'sip',
      transport,
      local: pcscf,
      remote: ue,
      bytes: Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'),
    };
    this.events.push(e);
    return e;
  }

  fromUe(time: number, ue: Endpoint, text: string | Buffer, transport: TransportProtocol = 'udp'): void {
    this.packet('recv', time, ue, text, transport);
  }

  toUe(time: number, ue: Endpoint, text: string, transport: TransportProtocol = 'udp'): void {
    this.packet('send', time, ue, text, transport);
  }

  note(time: number, node: string, text: string, data?: Record<string, unknown>): void {
    this.events.push({ type: 'note', seq: ++this.seq, time, node, level: 'warn', text, ...(data ? { data } : {}) });
  }
}

export interface RegisterSpec {
  ue: Endpoint;
  user: string;
  cseq: number;
  branch: string;
  callId?: string;
  transport?: 'UDP' | 'TCP';
  authorization?: string;
  /** Extra header lines (Supported, Security-Client, …). */
  extra?: string[];
  contact?: string;
  expires?: number | null;
}

export function register(s: RegisterSpec): string {
  const t = s.transport ?? 'UDP';
  const ep = `${s.ue.address}:${s.ue.port}`;
  return sip([
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/${t} ${ep};branch=${s.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${s.user}@${DOMAIN}>;tag=${s.user}-tag`,
    `To: <sip:${s.user}@${DOMAIN}>`,
    `Call-ID: ${s.callId ?? `${s.user}-reg@${s.ue.address}`}`,
    `CSeq: ${s.cseq} REGISTER`,
    `Contact: ${s.contact ?? `<sip:${s.user}@${ep}>`}`,
    ...(s.authorization ? [`Authorization: ${s.authorization}`] : []),
    ...(s.extra ?? []),
    ...(s.expires === null ? [] : [`Expires: ${s.expires ?? 600000}`]),
  ]);
}

/** The P-CSCF's response to a request: Via, From, To (with a tag), Call-ID, CSeq copied from it. */
export function respond(request: string, status: string, extra: string[] = []): string {
  const lines = request.split('\r\n');
  const copy = lines.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
  const to = lines.find((l) => /^To:/i.test(l))!;
  return sip([`SIP/2.0 ${status}`, ...copy, /;tag=/.test(to) ? to : `${to};tag=pcscf-${status.slice(0, 3)}`, ...extra]);
}

export interface RequestSpec {
  method: string;
  ue: Endpoint;
  user: string;
  uri: string;
  branch: string;
  cseq?: number;
  callId?: string;
  transport?: 'UDP' | 'TCP';
  extra?: string[];
}

export function request(s: RequestSpec): string {
  const ep = `${s.ue.address}:${s.ue.port}`;
  return sip([
    `${s.method} ${s.uri} SIP/2.0`,
    `Via: SIP/2.0/${s.transport ?? 'UDP'} ${ep};branch=${s.branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:${s.user}@${DOMAIN}>;tag=${s.user}-${s.method.toLowerCase()}`,
    `To: <${s.uri}>`,
    `Call-ID: ${s.callId ?? `${s.user}-${s.method.toLowerCase()}-${s.branch}`}`,
    `CSeq: ${s.cseq ?? 1} ${s.method}`,
    `Contact: <sip:${s.user}@${ep}>`,
    ...(s.extra ?? []),
  ]);
}
