import { createWriteStream } from 'node:fs';
import { isIP } from 'node:net';
import type { Writable } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import type { PacketEvent, TraceEvent } from './events.js';
import { WireFilter } from './wire.js';

/**
 * Classic libpcap files of the trace, for Wireshark, tshark and sngrep.
 *
 * Link type Ethernet (1), not RAW (101): every capture tool (sngrep, tcpreplay, older Wireshark, pcap
 * libraries) reads Ethernet, and synthetic per-address MACs (02:00 + the last four octets of the IP, a
 * locally administered range) let Wireshark's Ethernet conversations list each node once. It costs 14
 * bytes per packet.
 *
 * Sockets see payloads, not packets, so the IP, UDP and TCP headers are rebuilt: IPv4 with a correct header
 * checksum, UDP and TCP with correct checksums (IPv6 forbids a zero UDP checksum, RFC 8200 §8.1), and for
 * TCP a SYN, SYN-ACK, ACK handshake when a connection is first seen, then continuous sequence and
 * acknowledgement numbers per direction, so tshark reassembles SIP and Diameter over TCP.
 *
 * TLS: the trace holds the plaintext a TLS transport wrote or read, so TLS connections are written as
 * plain TCP on their real port (5061): the capture shows what the endpoints saw after decryption, not the
 * ciphertext that crossed the wire. tshark 4.0 finds the SIP in it by its SIP-over-TCP heuristic; a
 * Wireshark that insists on TLS there reads it with `-d tcp.port==5061,sip` (docs/topologies.md).
 */

export const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262_144;
const MAX_UDP_PAYLOAD = 65_507;
/** Segment size for long TCP messages: below the 65 535-octet IP length limit with headers. */
const MAX_SEGMENT = 65_000;

const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

export interface PcapOptions {
  /** Addresses of instrumented nodes and UEs: their 'recv' events are duplicates of a 'send' (see WireFilter). */
  knownAddresses?: Iterable<string>;
}

interface Endpoint {
  ip: Buffer;
  port: number;
}

interface TcpConnection {
  /** Next sequence number per direction, keyed by the sender's "ip|port". */
  next: Map<string, number>;
}

/** Pure: events in, pcap records out. Keeps the per-connection TCP state. */
export class PcapEncoder {
  private readonly wire: WireFilter;
  private readonly tcp = new Map<string, TcpConnection>();
  private ipId = 0;
  /** Events that could not be written (address family mismatch, oversize UDP payload). */
  skipped = 0;

  constructor(options: PcapOptions = {}) {
    this.wire = new WireFilter(options.knownAddresses ?? []);
  }

  /** The 24-octet global header (libpcap format, microsecond timestamps, host byte order little endian). */
  static globalHeader(): Buffer {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    return h;
  }

  /** The records (header + frame) for one event: none for notes and duplicate receives, several for TCP. */
  encode(e: TraceEvent): Buffer[] {
    if (e.type !== 'packet' || !this.wire.accept(e)) return [];
    const [src, dst] = e.direction === 'send' ? [e.local, e.remote] : [e.remote, e.local];
    const s = { ip: ipBytes(src.address), port: src.port };
    const d = { ip: ipBytes(dst.address), port: dst.port };
    if (!s.ip || !d.ip || s.ip.length !== d.ip.length) {
      this.skipped++;
      return [];
    }
    const from = s as Endpoint;
    const to = d as Endpoint;
    if (e.transport === 'udp') {
      if (e.bytes.length > MAX_UDP_PAYLOAD) {
        this.skipped++;
        return [];
      }
      return [this.record(e.time, from, to, 17, udpSegment(from, to, e.bytes))];
    }
    return this.tcpRecords(e, from, to);
  }

  private tcpRecords(e: PacketEvent, from: Endpoint, to: Endpoint): Buffer[] {
    const a = `${from.ip.toString('hex')}|${from.port}`;
    const b = `${to.ip.toString('hex')}|${to.port}`;
    const key = a < b ? `${a}>${b}` : `${b}>${a}`;
    const out: Buffer[] = [];
    let conn = this.tcp.get(key);
    if (!conn) {
      // First sight: whoever sends first opened the connection (a UE's REGISTER, a CSCF's CER).
      const isnC = isn(`${a}>${b}`);
      const isnS = isn(`${b}>${a}`);
      conn = { next: new Map([[a, isnC + 1], [b, isnS + 1]]) };
      this.tcp.set(key, conn);
      out.push(this.record(e.time, from, to, 6, tcpSegment(from, to, isnC, 0, TCP_SYN, EMPTY)));
      out.push(this.record(e.time, to, from, 6, tcpSegment(to, from, isnS, (isnC + 1) >>> 0, TCP_SYN | TCP_ACK, EMPTY)));
      out.push(this.record(e.time, from, to, 6, tcpSegment(from, to, (isnC + 1) >>> 0, (isnS + 1) >>> 0, TCP_ACK, EMPTY)));
    }
    for (let off = 0; off < e.bytes.length || off === 0; off += MAX_SEGMENT) {
      const chunk = e.bytes.subarray(off, off + MAX_SEGMENT);
      const seq = conn.next.get(a)!;
      const ack = conn.next.get(b)!;
      out.push(this.record(e.time, from, to, 6, tcpSegment(from, to, seq, ack, TCP_PSH | TCP_ACK, chunk)));
      conn.next.set(a, (seq + chunk.length) >>> 0);
      if (e.bytes.length === 0) break;
    }
    return out;
  }

  private record(timeMs: number, from: Endpoint, to: Endpoint, proto: number, l4: Buffer): Buffer {
    checksumL4(from.ip, to.ip, proto, l4);
    const ip = from.ip.length === 4 ? ipv4Header(from.ip, to.ip, proto, l4.length, this.ipId++ & 0xffff) : ipv6Header(from.ip, to.ip, proto, l4.length);
    const eth = Buffer.alloc(14);
    mac(to.ip).copy(eth, 0);
    mac(from.ip).copy(eth, 6);
    eth.writeUInt16BE(from.ip.length === 4 ? 0x0800 : 0x86dd, 12);
    const frameLength = 14 + ip.length + l4.length;
    const rec = Buffer.alloc(16);
    let sec = Math.floor(timeMs / 1000);
    let usec = Math.round((timeMs - sec * 1000) * 1000);
    if (usec >= 1_000_000) {
      sec++;
      usec -= 1_000_000;
    }
    rec.writeUInt32LE(sec >>> 0, 0);
    rec.writeUInt32LE(usec, 4);
    rec.writeUInt32LE(Math.min(frameLength, SNAPLEN), 8);
    rec.writeUInt32LE(frameLength, 12);
    return Buffer.concat([rec, eth, ip, l4]);
  }
}

const EMPTY = Buffer.alloc(0);

/** Deterministic initial sequence numbers, so two seeded runs give byte-identical captures but for time. */
function isn(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function mac(ip: Buffer): Buffer {
  const m = Buffer.alloc(6);
  m[0] = 0x02;
  ip.copy(m, 2, ip.length - 4);
  return m;
}

export function ipBytes(address: string): Buffer | undefined {
  const v = isIP(address);
  if (v === 4) return Buffer.from(address.split('.').map(Number));
  if (v === 6) return ipv6Bytes(address);
  return undefined;
}

function ipv6Bytes(address: string): Buffer {
  let a = address.split('%')[0]!;
  const out = Buffer.alloc(16);
  // An embedded IPv4 tail (::ffff:127.0.0.1) is two more groups.
  const lastColon = a.lastIndexOf(':');
  const tail = a.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    a = `${a.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, rest] = a.includes('::') ? a.split('::') : [a, undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array(8 - h.length - r.length).fill('0'), ...r];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function ipv4Header(src: Buffer, dst: Buffer, proto: number, payload: number, id: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload, 2);
  h.writeUInt16BE(id, 4);
  h.writeUInt16BE(0x4000, 6); // DF
  h[8] = 64;
  h[9] = proto;
  src.copy(h, 12);
  dst.copy(h, 16);
  h.writeUInt16BE(finish(sum16(h, 0)), 10);
  return h;
}

function ipv6Header(src: Buffer, dst: Buffer, proto: number, payload: number): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(payload, 4);
  h[6] = proto;
  h[7] = 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return h;
}

function udpSegment(from: Endpoint, to: Endpoint, payload: Buffer): Buffer {
  const u = Buffer.alloc(8 + payload.length);
  u.writeUInt16BE(from.port, 0);
  u.writeUInt16BE(to.port, 2);
  u.writeUInt16BE(u.length, 4);
  payload.copy(u, 8);
  return u;
}

function tcpSegment(from: Endpoint, to: Endpoint, seq: number, ack: number, flags: number, payload: Buffer): Buffer {
  const t = Buffer.alloc(20 + payload.length);
  t.writeUInt16BE(from.port, 0);
  t.writeUInt16BE(to.port, 2);
  t.writeUInt32BE(seq >>> 0, 4);
  t.writeUInt32BE(ack >>> 0, 8);
  t[12] = 5 << 4;
  t[13] = flags;
  t.writeUInt16BE(65_535, 14);
  payload.copy(t, 20);
  return t;
}

/** RFC 768 / RFC 793 checksum over the pseudo-header (RFC 8200 §8.1 for IPv6), written in place. */
function checksumL4(src: Buffer, dst: Buffer, proto: number, l4: Buffer): void {
  const at = proto === 17 ? 6 : 16;
  l4.writeUInt16BE(0, at);
  let s = sum16(src, 0) + sum16(dst, 0) + proto + (l4.length & 0xffff) + Math.floor(l4.length / 0x10000);
  s += sum16(l4, 0);
  let c = finish(s);
  if (proto === 17 && c === 0) c = 0xffff;
  l4.writeUInt16BE(c, at);
}

function sum16(b: Buffer, start: number): number {
  let s = 0;
  const end = b.length - ((b.length - start) & 1);
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (end < b.length) s += b[end]! << 8;
  return s;
}

function finish(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** A whole trace as one pcap file in memory. */
export function eventsToPcap(events: Iterable<TraceEvent>, options: PcapOptions = {}): Buffer {
  const enc = new PcapEncoder(options);
  const parts = [PcapEncoder.globalHeader()];
  for (const e of events) parts.push(...enc.encode(e));
  return Buffer.concat(parts);
}

/** Streams events into a pcap file (or any writable stream) as they happen. */
export class PcapWriter {
  private readonly out: Writable;
  private readonly ownsStream: boolean;
  private readonly encoder: PcapEncoder;
  private closed = false;

  constructor(target: string | Writable, options: PcapOptions = {}) {
    this.ownsStream = typeof target === 'string';
    this.out = typeof target === 'string' ? createWriteStream(target) : target;
    this.encoder = new PcapEncoder(options);
    this.out.write(PcapEncoder.globalHeader());
  }

  get skipped(): number {
    return this.encoder.skipped;
  }

  write(event: TraceEvent): void {
    if (this.closed) return;
    for (const r of this.encoder.encode(event)) this.out.write(r);
  }

  /** Writes every event of the stream until the returned subscription ends or the writer closes. */
  attach(events$: Observable<TraceEvent>): Subscription {
    return events$.subscribe((e) => this.write(e));
  }

  /** Flushes; closes the file if the writer opened it. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve, reject) => {
      if (this.ownsStream) {
        this.out.once('error', reject);
        this.out.end(() => resolve());
      } else this.out.write(EMPTY, () => resolve());
    });
  }
}
