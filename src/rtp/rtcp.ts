/**
 * RTCP (RFC 3550 §6), a pure codec: sender and receiver reports (§6.4), SDES CNAME (§6.5) and BYE (§6.6),
 * in compound packets (§6.1). Other packet types decode as `unknown` so a receiver can skip them.
 */
export interface ReportBlock {
  /** SSRC of the source this block is about. */
  ssrc: number;
  /** Fraction of packets lost since the previous report, in 1/256 (§6.4.1). */
  fractionLost: number;
  /** Cumulative number lost, a signed 24-bit value (negative with duplicates, §6.4.1). */
  cumulativeLost: number;
  extendedHighestSequence: number;
  /** Interarrival jitter in timestamp units (§6.4.1, A.8). */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR from that source, 0 if none. */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

export interface SenderReport {
  type: 'sr';
  ssrc: number;
  /** NTP timestamp (seconds since 1900, RFC 5905) as two 32-bit words. */
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface ReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}

export interface SourceDescription {
  type: 'sdes';
  /** One chunk per source; only CNAME (item 1) is written, every item is read. */
  chunks: { ssrc: number; cname?: string; items?: { type: number; text: string }[] }[];
}

export interface Goodbye {
  type: 'bye';
  ssrcs: number[];
  reason?: string;
}

export interface UnknownRtcp {
  type: 'unknown';
  packetType: number;
  count: number;
  body: Buffer;
}

export type RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Goodbye | UnknownRtcp;

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
const SDES_CNAME = 1;

export class RtcpDecodeError extends Error {
  constructor(readonly reason: string) {
    super(`not an RTCP packet: ${reason}`);
    this.name = 'RtcpDecodeError';
  }
}

/** Seconds between the NTP era 0 epoch (1900) and the Unix epoch. */
const NTP_UNIX_OFFSET = 2_208_988_800;

export function ntpFromUnixMs(ms: number): { seconds: number; fraction: number } {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 0x1_0000_0000);
  return { seconds: (seconds + NTP_UNIX_OFFSET) >>> 0, fraction: fraction >>> 0 };
}

/** The "middle 32 bits" of an NTP timestamp used as LSR (§6.4.1). */
export function ntpMiddle32(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

export function encodeRtcpCompound(packets: readonly RtcpPacket[]): Buffer {
  // §6.1: a compound packet starts with an SR or RR so that receivers can validate it (A.2).
  if (packets.length === 0 || (packets[0]!.type !== 'sr' && packets[0]!.type !== 'rr')) {
    throw new RangeError('a compound RTCP packet starts with SR or RR (RFC 3550 §6.1)');
  }
  return Buffer.concat(packets.map(encodeRtcp));
}

export function encodeRtcp(p: RtcpPacket): Buffer {
  switch (p.type) {
    case 'sr': {
      const body = Buffer.allocUnsafe(24 + 24 * p.reports.length);
      body.writeUInt32BE(p.ssrc >>> 0, 0);
      body.writeUInt32BE(p.ntpSeconds >>> 0, 4);
      body.writeUInt32BE(p.ntpFraction >>> 0, 8);
      body.writeUInt32BE(p.rtpTimestamp >>> 0, 12);
      body.writeUInt32BE(p.packetCount >>> 0, 16);
      body.writeUInt32BE(p.octetCount >>> 0, 20);
      writeReportBlocks(body, 24, p.reports);
      return frame(RTCP_SR, p.reports.length, body);
    }
    case 'rr': {
      const body = Buffer.allocUnsafe(4 + 24 * p.reports.length);
      body.writeUInt32BE(p.ssrc >>> 0, 0);
      writeReportBlocks(body, 4, p.reports);
      return frame(RTCP_RR, p.reports.length, body);
    }
    case 'sdes': {
      const parts: Buffer[] = [];
      for (const c of p.chunks) {
        const items = c.items ?? (c.cname !== undefined ? [{ type: SDES_CNAME, text: c.cname }] : []);
        const encoded = items.map((it) => {
          const text = Buffer.from(it.text, 'utf8');
          if (text.length > 255) throw new RangeError('SDES item longer than 255 octets');
          return Buffer.concat([Buffer.from([it.type, text.length]), text]);
        });
        const len = 4 + encoded.reduce((n, b) => n + b.length, 0);
        // §6.5: the item list ends with at least one null octet, then pads to a 32-bit boundary.
        const padded = (len + 1 + 3) & ~3;
        const chunk = Buffer.alloc(padded);
        chunk.writeUInt32BE(c.ssrc >>> 0, 0);
        let o = 4;
        for (const e of encoded) o += e.copy(chunk, o);
        parts.push(chunk);
      }
      return frame(RTCP_SDES, p.chunks.length, Buffer.concat(parts));
    }
    case 'bye': {
      const reason = p.reason !== undefined ? Buffer.from(p.reason, 'utf8') : undefined;
      if (reason && reason.length > 255) throw new RangeError('BYE reason longer than 255 octets');
      const len = 4 * p.ssrcs.length + (reason ? 1 + reason.length : 0);
      const body = Buffer.alloc((len + 3) & ~3);
      p.ssrcs.forEach((s, i) => body.writeUInt32BE(s >>> 0, 4 * i));
      if (reason) {
        body[4 * p.ssrcs.length] = reason.length;
        reason.copy(body, 4 * p.ssrcs.length + 1);
      }
      return frame(RTCP_BYE, p.ssrcs.length, body);
    }
    case 'unknown':
      return frame(p.packetType, p.count, p.body);
  }
}

function frame(packetType: number, count: number, body: Buffer): Buffer {
  if (count > 31) throw new RangeError('at most 31 report blocks / chunks / sources per RTCP packet');
  if (body.length % 4 !== 0) throw new RangeError('RTCP body must be a multiple of 4 octets');
  const out = Buffer.allocUnsafe(4 + body.length);
  out[0] = (2 << 6) | count;
  out[1] = packetType;
  // §6.4.1: length in 32-bit words minus one, header included.
  out.writeUInt16BE((4 + body.length) / 4 - 1, 2);
  body.copy(out, 4);
  return out;
}

function writeReportBlocks(buf: Buffer, offset: number, reports: readonly ReportBlock[]): void {
  let o = offset;
  for (const r of reports) {
    buf.writeUInt32BE(r.ssrc >>> 0, o);
    // Cumulative lost is clamped to the signed 24-bit range (§6.4.1 / A.3).
    const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost));
    buf.writeUInt32BE((((r.fractionLost & 0xff) << 24) | (lost & 0xffffff)) >>> 0, o + 4);
    buf.writeUInt32BE(r.extendedHighestSequence >>> 0, o + 8);
    buf.writeUInt32BE(r.jitter >>> 0, o + 12);
    buf.writeUInt32BE(r.lastSr >>> 0, o + 16);
    buf.writeUInt32BE(r.delaySinceLastSr >>> 0, o + 20);
    o += 24;
  }
}

function readReportBlocks(buf: Buffer, offset: number, count: number, end: number): ReportBlock[] {
  if (offset + 24 * count > end) throw new RtcpDecodeError('report blocks run past the packet length');
  const out: ReportBlock[] = [];
  for (let i = 0, o = offset; i < count; i++, o += 24) {
    const w = buf.readUInt32BE(o + 4);
    const raw = w & 0xffffff;
    out.push({
      ssrc: buf.readUInt32BE(o),
      fractionLost: w >>> 24,
      cumulativeLost: raw & 0x800000 ? raw - 0x1000000 : raw,
      extendedHighestSequence: buf.readUInt32BE(o + 8),
      jitter: buf.readUInt32BE(o + 12),
      lastSr: buf.readUInt32BE(o + 16),
      delaySinceLastSr: buf.readUInt32BE(o + 20),
    });
  }
  return out;
}

/**
 * Decodes a compound packet with the validity checks of RFC 3550 Appendix A.2: version 2 everywhere, padding
 * only in the last packet, the lengths adding up to the datagram. Throws RtcpDecodeError.
 */
export function decodeRtcpCompound(buf: Buffer): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let o = 0;
  if (buf.length < 4) throw new RtcpDecodeError(`${buf.length} octets`);
  while (o < buf.length) {
    if (buf.length - o < 4) throw new RtcpDecodeError('trailing octets after the last packet');
    const b0 = buf[o]!;
    if (b0 >> 6 !== 2) throw new RtcpDecodeError(`version ${b0 >> 6}`);
    const count = b0 & 0x1f;
    const pt = buf[o + 1]!;
    const len = (buf.readUInt16BE(o + 2) + 1) * 4;
    const end = o + len;
    if (end > buf.length) throw new RtcpDecodeError('length field runs past the datagram');
    let bodyEnd = end;
    if (b0 & 0x20) {
      if (end !== buf.length) throw new RtcpDecodeError('padding in a packet that is not the last');
      const pad = buf[end - 1]!;
      if (pad === 0 || end - pad < o + 4) throw new RtcpDecodeError('bad padding count');
      bodyEnd = end - pad;
    }
    const b = o + 4;
    switch (pt) {
      case RTCP_SR:
        if (bodyEnd - b < 24) throw new RtcpDecodeError('SR shorter than its sender info');
        out.push({
          type: 'sr',
          ssrc: buf.readUInt32BE(b),
          ntpSeconds: buf.readUInt32BE(b + 4),
          ntpFraction: buf.readUInt32BE(b + 8),
          rtpTimestamp: buf.readUInt32BE(b + 12),
          packetCount: buf.readUInt32BE(b + 16),
          octetCount: buf.readUInt32BE(b + 20),
          reports: readReportBlocks(buf, b + 24, count, bodyEnd),
        });
        break;
      case RTCP_RR:
        if (bodyEnd - b < 4) throw new RtcpDecodeError('RR without SSRC');
        out.push({ type: 'rr', ssrc: buf.readUInt32BE(b), reports: readReportBlocks(buf, b + 4, count, bodyEnd) });
        break;
      case RTCP_SDES:
        out.push(decodeSdes(buf, b, count, bodyEnd));
        break;
      case RTCP_BYE: {
        if (bodyEnd - b < 4 * count) throw new RtcpDecodeError('BYE source list runs past the packet');
        const ssrcs: number[] = [];
        for (let i = 0; i < count; i++) ssrcs.push(buf.readUInt32BE(b + 4 * i));
        const bye: Goodbye = { type: 'bye', ssrcs };
        const r = b + 4 * count;
        if (r < bodyEnd) {
          const n = buf[r]!;
          if (r + 1 + n > bodyEnd) throw new RtcpDecodeError('BYE reason runs past the packet');
          bye.reason = buf.toString('utf8', r + 1, r + 1 + n);
        }
        out.push(bye);
        break;
      }
      default:
        out.push({ type: 'unknown', packetType: pt, count, body: buf.subarray(b, bodyEnd) });
    }
    o = end;
  }
  // A.2: the first packet of a compound is an SR or RR.
  if (out[0]!.type !== 'sr' && out[0]!.type !== 'rr') throw new RtcpDecodeError('compound does not start with SR or RR');
  return out;
}

function decodeSdes(buf: Buffer, start: number, count: number, end: number): SourceDescription {
  const chunks: SourceDescription['chunks'] = [];
  let o = start;
  for (let i = 0; i < count; i++) {
    if (o + 4 > end) throw new RtcpDecodeError('SDES chunk runs past the packet');
    const chunk: SourceDescription['chunks'][number] = { ssrc: buf.readUInt32BE(o), items: [] };
    o += 4;
    for (;;) {
      if (o >= end) throw new RtcpDecodeError('SDES item list not terminated');
      const type = buf[o]!;
      if (type === 0) break;
      if (o + 2 > end || o + 2 + buf[o + 1]! > end) throw new RtcpDecodeError('SDES item runs past the packet');
      const text = buf.toString('utf8', o + 2, o + 2 + buf[o + 1]!);
      chunk.items!.push({ type, text });
      if (type === SDES_CNAME) chunk.cname = text;
      o += 2 + buf[o + 1]!;
    }
    // Skip the terminating null and the padding up to the next 32-bit boundary (§6.5).
    o = (o - start + 1 + 3) & ~3;
    o += start;
    chunks.push(chunk);
  }
  return { type: 'sdes', chunks };
}
