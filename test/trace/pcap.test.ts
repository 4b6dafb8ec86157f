import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { eventsToPcap, PcapWriter } from '../../src/trace/pcap.js';
import { diameter, events, registrationFlow, resultCode, sip, userName } from './fixtures.js';

/** Splits a pcap into its records: [tsSec, tsUsec, frame]. */
function records(pcap: Buffer): { sec: number; usec: number; frame: Buffer }[] {
  const out = [];
  for (let i = 24; i < pcap.length; ) {
    const incl = pcap.readUInt32LE(i + 8);
    expect(pcap.readUInt32LE(i + 12)).toBe(incl);
    out.push({ sec: pcap.readUInt32LE(i), usec: pcap.readUInt32LE(i + 4), frame: pcap.subarray(i + 16, i + 16 + incl) });
    i += 16 + incl;
  }
  return out;
}

/** One's-complement sum over 16-bit words, folded: 0xffff for a header whose checksum is right. */
function onesSum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i + 1 < b.length; i += 2) s += b.readUInt16BE(i);
  if (b.length & 1) s += b[b.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

const options = (method: string, transport: 'udp' | 'tcp', port = 5060) =>
  sip(`${method} sip:bob@ims.example.org SIP/2.0`, [
    ['Via', `SIP/2.0/${transport.toUpperCase()} 127.0.10.1:${port};branch=z9hG4bK${method}${transport}`],
    ['Max-Forwards', '70'],
    ['From', '<sip:alice@ims.example.org>;tag=1'],
    ['To', '<sip:bob@ims.example.org>'],
    ['Call-ID', `${method}-${transport}`],
    ['CSeq', `1 ${method}`],
  ]);

describe('pcap bytes', () => {
  const flow = registrationFlow();
  const pcap = eventsToPcap(flow);
  const recs = records(pcap);

  it('global header: libpcap 2.4, microseconds, Ethernet', () => {
    expect(pcap.subarray(0, 24).toString('hex')).toBe('d4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000');
  });

  it('one IPv4/UDP packet, field by field', () => {
    const first = flow[0] as Extract<TraceEvent, { type: 'packet' }>;
    const { sec, usec, frame } = recs[0]!;
    expect(sec * 1000 + usec / 1000).toBe(first.time);
    // Ethernet: dst MAC from 127.0.1.1, src from 127.0.10.1, IPv4.
    expect(frame.subarray(0, 14).toString('hex')).toBe('02007f000101' + '02007f000a01' + '0800');
    const ip = frame.subarray(14, 34);
    expect(ip[0]).toBe(0x45);
    expect(ip.readUInt16BE(2)).toBe(20 + 8 + first.bytes.length);
    expect(ip.readUInt16BE(6)).toBe(0x4000);
    expect(ip[8]).toBe(64);
    expect(ip[9]).toBe(17);
    expect([...ip.subarray(12, 16)]).toEqual([127, 0, 10, 1]);
    expect([...ip.subarray(16, 20)]).toEqual([127, 0, 1, 1]);
    expect(onesSum(ip)).toBe(0xffff);
    const udp = frame.subarray(34);
    expect(udp.readUInt16BE(0)).toBe(5060);
    expect(udp.readUInt16BE(2)).toBe(5060);
    expect(udp.readUInt16BE(4)).toBe(8 + first.bytes.length);
    expect(udp.subarray(8).equals(first.bytes)).toBe(true);
    // UDP checksum over the pseudo-header verifies to 0xffff as well.
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), Buffer.from([udp.length >> 8, udp.length & 0xff]), udp]);
    expect(onesSum(pseudo)).toBe(0xffff);
  });

  it('writes each message once: recv events of instrumented senders are dropped', () => {
    // 10 messages, each recorded twice: 6 SIP over UDP, 4 Diameter over two TCP connections (+3 handshake packets each).
    expect(recs).toHaveLength(6 + 4 + 2 * 3);
  });

  it('TCP: handshake first, then continuous sequence and acknowledgement numbers per direction', () => {
    const tcp = recs
      .map((r) => r.frame)
      .filter((f) => f[23] === 6)
      .map((f) => {
        const t = f.subarray(34);
        return { sport: t.readUInt16BE(0), dport: t.readUInt16BE(2), seq: t.readUInt32BE(4), ack: t.readUInt32BE(8), flags: t[13]!, len: t.length - 20, f };
      });
    const conn = tcp.filter((t) => t.sport === 40000 || t.dport === 40000);
    expect(conn.map((t) => t.flags)).toEqual([0x02, 0x12, 0x10, 0x18, 0x18]);
    const [syn, synack, ack, uar, uaa] = conn as [typeof conn[0], typeof conn[0], typeof conn[0], typeof conn[0], typeof conn[0]];
    expect(synack.ack).toBe((syn.seq + 1) >>> 0);
    expect(ack.seq).toBe((syn.seq + 1) >>> 0);
    expect(ack.ack).toBe((synack.seq + 1) >>> 0);
    expect(uar.seq).toBe(ack.seq);
    expect(uaa.seq).toBe(ack.ack);
    expect(uaa.ack).toBe((uar.seq + uar.len) >>> 0);
    for (const t of conn) {
      const ip = t.f.subarray(14, 34);
      const seg = t.f.subarray(34);
      const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 6, seg.length >> 8, seg.length & 0xff]), seg]);
      expect(onesSum(pseudo)).toBe(0xffff);
    }
  });

  it('IPv6 frames carry ethertype 86dd and a 40-octet header', () => {
    const ev: TraceEvent = {
      type: 'packet', seq: 1, time: 1000.5, node: 'alice', direction: 'send', protocol: 'sip', transport: 'udp',
      local: { address: '::1', port: 5062 }, remote: { address: '::1', port: 5060 }, bytes: options('OPTIONS', 'udp'),
    };
    const [r] = records(eventsToPcap([ev]));
    expect(r!.sec).toBe(1);
    expect(r!.usec).toBe(500);
    expect(r!.frame.readUInt16BE(12)).toBe(0x86dd);
    expect(r!.frame[14]! >> 4).toBe(6);
    expect(r!.frame.subarray(14 + 8, 14 + 24).toString('hex')).toBe('00000000000000000000000000000001');
    expect(r!.frame.readUInt16BE(14 + 40 + 2)).toBe(5060);
  });

  it('a message with mismatched address families is skipped, not thrown', () => {
    const ev: TraceEvent = {
      type: 'packet', seq: 1, time: 0, node: 'x', direction: 'send', protocol: 'sip', transport: 'udp',
      local: { address: '::1', port: 1 }, remote: { address: '127.0.0.1', port: 2 }, bytes: Buffer.from('x'),
    };
    expect(eventsToPcap([ev]).length).toBe(24);
  });
});

describe('PcapWriter', () => {
  it('streams the same bytes eventsToPcap produces, and closes', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const w = new PcapWriter(sink);
    for (const e of registrationFlow()) w.write(e);
    await w.close();
    expect(Buffer.concat(chunks).equals(eventsToPcap(registrationFlow()))).toBe(true);
  });
});

const hasTshark = existsSync('/usr/bin/tshark');

describe('tshark reads the capture', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imslab-pcap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasTshark)('decodes SIP over UDP and TCP, Diameter, a TLS-port connection, and finds nothing malformed', async () => {
    // Longer than one synthetic segment: tshark must reassemble it from two.
    const text = 'x'.repeat(70_000);
    const big = sip('MESSAGE sip:bob@ims.example.org SIP/2.0', [
      ['Via', 'SIP/2.0/TCP 127.0.10.1:41000;branch=z9hG4bKbig'], ['Max-Forwards', '70'], ['From', '<sip:alice@ims.example.org>;tag=1'],
      ['To', '<sip:bob@ims.example.org>'], ['Call-ID', 'big'], ['CSeq', '2 MESSAGE'], ['Content-Type', 'text/plain'],
    ], text);
    const ev = events([
      { from: 'alice', to: 'pcscf1', bytes: options('OPTIONS', 'udp') },
      { from: 'alice', to: 'pcscf1', transport: 'tcp', fromPort: 41000, bytes: options('INVITE', 'tcp', 41000) },
      { from: 'pcscf1', to: 'alice', transport: 'tcp', fromPort: 5060, toPort: 41000, bytes: sip('SIP/2.0 180 Ringing', [['Via', 'SIP/2.0/TCP 127.0.10.1:41000;branch=z9hG4bKINVITEtcp'], ['From', '<sip:alice@ims.example.org>;tag=1'], ['To', '<sip:bob@ims.example.org>;tag=2'], ['Call-ID', 'INVITE-tcp'], ['CSeq', '1 INVITE']]) },
      { from: 'alice', to: 'pcscf1', transport: 'tcp', fromPort: 41000, bytes: big },
      { from: 'alice', to: 'pcscf1', transport: 'tls', fromPort: 41001, toPort: 5061, bytes: options('OPTIONS', 'tcp', 41001) },
      { from: 'icscf1', to: 'hss1', protocol: 'diameter', bytes: diameter(300, true, [userName('alice@ims.example.org')]) },
      { from: 'hss1', to: 'icscf1', protocol: 'diameter', fromPort: 3868, toPort: 40000, bytes: diameter(300, false, [resultCode(2001)]) },
    ]);
    const file = join(dir, 'mixed.pcap');
    const w = new PcapWriter(file);
    for (const e of ev) w.write(e);
    await w.close();
    const fields = execFileSync('tshark', ['-r', file, '-Y', 'sip || diameter', '-T', 'fields', '-e', 'sip.Method', '-e', 'sip.Status-Code', '-e', 'diameter.cmd.code', '-e', 'diameter.flags.request'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(fields.trim().split('\n').map((l) => l.split('\t').filter((x) => x !== '').join(' '))).toEqual([
      'OPTIONS', 'INVITE', '180', 'MESSAGE', 'OPTIONS', '300 1', '300 0',
    ]);
    const bad = execFileSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', '_ws.malformed || _ws.expert.severity == error'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(bad.trim()).toBe('');
    expect(readFileSync(file).subarray(0, 4).toString('hex')).toBe('d4c3b2a1');
  });
});
