import type { NoteEvent, PacketEvent, TraceEvent, TransportProtocol } from '../../src/trace/events.js';
import type { TraceNode } from '../../src/trace/explain.js';

/** A hand-built initial registration (TS 24.228 §6.2) as the trace bus would record it: each hop's send and recv. */
export const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
export const NODES: TraceNode[] = [
  { name: 'alice', address: '127.0.10.1', kind: 'ue' },
  { name: 'pcscf1', address: '127.0.1.1', kind: 'pcscf' },
  { name: 'icscf1', address: '127.0.2.1', kind: 'icscf' },
  { name: 'scscf1', address: '127.0.3.1', kind: 'scscf' },
  { name: 'hss1', address: '127.0.4.1', kind: 'hss' },
];
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export function sip(startLine: string, headers: [string, string][], body = ''): Buffer {
  const lines = [startLine, ...headers.map(([n, v]) => `${n}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`, '', body];
  return Buffer.from(lines.join('\r\n'));
}

function avp(code: number, data: Buffer, vendor?: number): Buffer {
  const header = vendor === undefined ? 8 : 12;
  const len = header + data.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt32BE(code, 0);
  out[4] = (vendor === undefined ? 0 : 0x80) | 0x40;
  out.writeUIntBE(len, 5, 3);
  if (vendor !== undefined) out.writeUInt32BE(vendor, 8);
  data.copy(out, header);
  return out;
}
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};

/** RFC 6733 §3 header + AVPs; Cx application 16777216 (TS 29.229 §5.1). */
export function diameter(command: number, request: boolean, avps: Buffer[], hopByHop = 0x1000): Buffer {
  const body = Buffer.concat([
    avp(263, Buffer.from(`${request ? 'icscf1' : 'hss1'};1;${hopByHop}`)), // Session-Id
    ...avps,
  ]);
  const h = Buffer.alloc(20);
  h[0] = 1;
  h.writeUIntBE(20 + body.length, 1, 3);
  h[4] = request ? 0xc0 : 0x40;
  h.writeUIntBE(command, 5, 3);
  h.writeUInt32BE(16777216, 8);
  h.writeUInt32BE(hopByHop, 12);
  h.writeUInt32BE(hopByHop + 0x10000, 16);
  return Buffer.concat([h, body]);
}
export const resultCode = (rc: number) => avp(268, u32(rc));
export const experimentalResult = (code: number) => avp(297, Buffer.concat([avp(266, u32(10415)), avp(298, u32(code))]));
export const userName = (impi: string) => avp(1, Buffer.from(impi));
export const serverAssignmentType = (t: number) => avp(614, u32(t), 10415);

interface Hop {
  from: string;
  to: string;
  protocol?: 'sip' | 'diameter' | 'rtp';
  transport?: TransportProtocol;
  bytes: Buffer;
  fromPort?: number;
  toPort?: number;
  /** Only the receiver reports it (the sender is outside imslab). */
  outside?: boolean;
}

/** Expands hops into send+recv packet events, 1 ms apart. */
export function events(hops: (Hop | { note: Omit<NoteEvent, 'type' | 'seq' | 'time'> })[]): TraceEvent[] {
  const out: TraceEvent[] = [];
  let seq = 0;
  let t = T0;
  const addr = (n: string) => NODES.find((x) => x.name === n)?.address ?? n;
  for (const h of hops) {
    if ('note' in h) {
      out.push({ type: 'note', seq: ++seq, time: t, ...h.note });
      continue;
    }
    const protocol = h.protocol ?? 'sip';
    const transport = h.transport ?? (protocol === 'diameter' ? 'tcp' : 'udp');
    const local = { address: addr(h.from), port: h.fromPort ?? (protocol === 'diameter' ? 40000 : 5060) };
    const remote = { address: addr(h.to), port: h.toPort ?? (protocol === 'diameter' ? 3868 : 5060) };
    const base = { type: 'packet' as const, protocol, transport, bytes: h.bytes };
    if (!h.outside) out.push({ ...base, seq: ++seq, time: t, node: h.from, direction: 'send', local, remote } satisfies PacketEvent);
    out.push({ ...base, seq: ++seq, time: t + 0.25, node: h.to, direction: 'recv', local: remote, remote: local } satisfies PacketEvent);
    t += 1;
  }
  return out;
}

const via = (host: string, branch: string) => ['Via', `SIP/2.0/UDP ${host}:5060;branch=z9hG4bK${branch}`] as [string, string];
const common = (cseq: number): [string, string][] => [
  ['From', `<sip:alice@${DOMAIN}>;tag=a1`],
  ['To', `<sip:alice@${DOMAIN}>`],
  ['Call-ID', 'reg-1@127.0.10.1'],
  ['CSeq', `${cseq} REGISTER`],
];

export function registrationFlow(): TraceEvent[] {
  const ruri = `REGISTER sip:${DOMAIN} SIP/2.0`;
  const empty = `Digest username="alice@${DOMAIN}", realm="${DOMAIN}", uri="sip:${DOMAIN}", nonce="", response=""`;
  const reg1 = (vias: [string, string][]) =>
    sip(ruri, [...vias, ['Max-Forwards', '70'], ...common(1), ['Contact', '<sip:alice@127.0.10.1:5060>;expires=600'], ['Authorization', empty]]);
  const challenge = `Digest realm="${DOMAIN}", nonce="3q2+7w==", algorithm=AKAv1-MD5, qop="auth"`;
  const r401 = (vias: [string, string][], withKeys: boolean) =>
    sip('SIP/2.0 401 Unauthorized', [...vias, ...common(1), ['WWW-Authenticate', challenge + (withKeys ? ', ck="00", ik="11"' : '')]]);
  const vUe = via('127.0.10.1', 'ue1');
  const vP = via('127.0.1.1', 'p1');
  const vI = via('127.0.2.1', 'i1');
  return events([
    { from: 'alice', to: 'pcscf1', bytes: reg1([vUe]) },
    { from: 'pcscf1', to: 'icscf1', bytes: reg1([vP, vUe]) },
    { from: 'icscf1', to: 'hss1', protocol: 'diameter', bytes: diameter(300, true, [userName(`alice@${DOMAIN}`)]) },
    { from: 'hss1', to: 'icscf1', protocol: 'diameter', bytes: diameter(300, false, [experimentalResult(2001)]), fromPort: 3868, toPort: 40000 },
    { from: 'icscf1', to: 'scscf1', bytes: reg1([vI, vP, vUe]) },
    { note: { node: 'scscf1', level: 'info', text: 'AKA vector requested for alice', clause: 'TS 33.203 §6.1' } },
    { from: 'scscf1', to: 'hss1', protocol: 'diameter', bytes: diameter(303, true, [userName(`alice@${DOMAIN}`)], 0x1001), fromPort: 40001 },
    { from: 'hss1', to: 'scscf1', protocol: 'diameter', bytes: diameter(303, false, [resultCode(2001)], 0x1001), fromPort: 3868, toPort: 40001 },
    { from: 'scscf1', to: 'icscf1', bytes: r401([vI, vP, vUe], true) },
    { from: 'icscf1', to: 'pcscf1', bytes: r401([vP, vUe], true) },
    { from: 'pcscf1', to: 'alice', bytes: r401([vUe], false) },
  ]);
}
