import { describe, expect, it } from 'vitest';
import { decodeRtp, encodeRtp, looksLikeRtcp, RtpDecodeError } from '../../src/rtp/packet.js';
import { decodeRtcpCompound, encodeRtcpCompound, ntpFromUnixMs, ntpMiddle32, RtcpDecodeError } from '../../src/rtp/rtcp.js';
import { decodeTelephoneEvent, digitOfEvent, encodeTelephoneEvent, eventOfDigit } from '../../src/rtp/dtmf.js';

describe('RTP packet (RFC 3550 §5.1)', () => {
  it('lays out the fixed header at the RFC offsets', () => {
    const payload = Buffer.from([1, 2, 3, 4]);
    const b = encodeRtp({ marker: true, payloadType: 8, sequenceNumber: 0xabcd, timestamp: 0x01020304, ssrc: 0xdeadbeef, payload });
    expect(b.toString('hex')).toBe('8088abcd01020304deadbeef01020304');
    expect(b[0]! >> 6).toBe(2);
    expect(b[1]! & 0x7f).toBe(8);
    expect(b[1]! & 0x80).toBe(0x80);
    expect(b.readUInt16BE(2)).toBe(0xabcd);
    expect(b.readUInt32BE(4)).toBe(0x01020304);
    expect(b.readUInt32BE(8)).toBe(0xdeadbeef);
  });

  it('round-trips CSRCs, a header extension and padding', () => {
    const p = {
      marker: false,
      payloadType: 101,
      sequenceNumber: 65535,
      timestamp: 0xffffffff,
      ssrc: 1,
      csrcs: [7, 8],
      extension: { profile: 0xbede, data: Buffer.from([0x10, 0xaa, 0, 0]) },
      payload: Buffer.from('hello'),
      padding: 3,
    };
    const b = encodeRtp(p);
    expect(b.length).toBe(12 + 8 + 8 + 5 + 3);
    expect(b[0]).toBe(0x80 | 0x20 | 0x10 | 2);
    expect(b[b.length - 1]).toBe(3);
    const d = decodeRtp(b);
    expect(d).toEqual({ ...p, payload: Buffer.from('hello'), extension: { profile: 0xbede, data: Buffer.from([0x10, 0xaa, 0, 0]) } });
  });

  it('rejects what is not RTP with a reason', () => {
    expect(() => decodeRtp(Buffer.from('abc'))).toThrow(RtpDecodeError);
    expect(() => decodeRtp(Buffer.from('00000000000000000000000000', 'hex'))).toThrow(/version 0/);
    expect(() => decodeRtp(Buffer.from('8f000000000000000000000000', 'hex'))).toThrow(/CSRC/);
    expect(() => decodeRtp(Buffer.from('a000000000000000000000000000', 'hex'))).toThrow(/padding/);
    expect(looksLikeRtcp(Buffer.from([0x80, 200]))).toBe(true);
    expect(looksLikeRtcp(Buffer.from([0x80, 0x08]))).toBe(false);
  });
});

describe('RTCP (RFC 3550 §6)', () => {
  const block = { ssrc: 0x11111111, fractionLost: 64, cumulativeLost: -2, extendedHighestSequence: 0x10005, jitter: 37, lastSr: 0xabcd1234, delaySinceLastSr: 65536 };

  it('SR + SDES + BYE: header words, lengths and round trip', () => {
    const ntp = ntpFromUnixMs(Date.UTC(2026, 0, 1, 0, 0, 0, 500));
    expect(ntp.fraction).toBe(0x80000000);
    const sr = { type: 'sr' as const, ssrc: 0x22222222, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: 160, packetCount: 50, octetCount: 8000, reports: [block] };
    const sdes = { type: 'sdes' as const, chunks: [{ ssrc: 0x22222222, cname: 'alice@127.0.30.1' }] };
    const bye = { type: 'bye' as const, ssrcs: [0x22222222], reason: 'done' };
    const b = encodeRtcpCompound([sr, sdes, bye]);
    // SR: V=2, RC=1, PT=200; header 4 + sender info 24 + one block 24 = 52 octets = 13 words → length 12.
    expect(b.subarray(0, 4).toString('hex')).toBe('81c8000c');
    expect(b.readUInt32BE(8)).toBe(ntp.seconds);
    // Cumulative lost −2 is 0xfffffe in 24 bits next to fraction 64.
    expect(b.readUInt32BE(32)).toBe(0x40fffffe);
    // SDES after 52 octets: SC=1, PT=202; 4 + 2 + 16 + 1 null → 24 octets → length 6.
    expect(b.subarray(52, 56).toString('hex')).toBe('81ca0006');
    expect(b[60]).toBe(1);
    expect(b[61]).toBe(16);
    // BYE: header + 1 source + reason length octet + 4 chars = 13, padded to 16 octets → length 3.
    expect(b.subarray(80, 84).toString('hex')).toBe('81cb0003');
    expect(b.subarray(88, 96).toString('hex')).toBe('04646f6e65000000');
    expect(b.length).toBe(96);
    const d = decodeRtcpCompound(b);
    expect(d[0]).toEqual(sr);
    expect(d[1]).toMatchObject({ type: 'sdes', chunks: [{ ssrc: 0x22222222, cname: 'alice@127.0.30.1' }] });
    expect(d[2]).toEqual(bye);
  });

  it('RR round trip and the LSR middle bits', () => {
    const b = encodeRtcpCompound([{ type: 'rr', ssrc: 5, reports: [block] }]);
    expect(b.subarray(0, 4).toString('hex')).toBe('81c90007');
    expect(decodeRtcpCompound(b)).toEqual([{ type: 'rr', ssrc: 5, reports: [block] }]);
    expect(ntpMiddle32(0x12345678, 0x9abcdef0)).toBe(0x56789abc);
  });

  it('validates like RFC 3550 A.2', () => {
    const rr = encodeRtcpCompound([{ type: 'rr', ssrc: 5, reports: [] }]);
    expect(() => decodeRtcpCompound(Buffer.from('hello world!'))).toThrow(RtcpDecodeError);
    expect(() => decodeRtcpCompound(Buffer.concat([rr, Buffer.from([0x80])]))).toThrow(/trailing/);
    const long = Buffer.from(rr);
    long.writeUInt16BE(9, 2);
    expect(() => decodeRtcpCompound(long)).toThrow(/length/);
    const byeFirst = Buffer.from('81cb000100000005', 'hex');
    expect(() => decodeRtcpCompound(byeFirst)).toThrow(/SR or RR/);
    expect(() => encodeRtcpCompound([{ type: 'bye', ssrcs: [1] }])).toThrow(RangeError);
  });
});

describe('telephone-event payload (RFC 4733 §2.3)', () => {
  it('encodes event, E bit, volume and duration', () => {
    expect(encodeTelephoneEvent({ event: 11, end: true, volume: 10, duration: 800 }).toString('hex')).toBe('0b8a0320');
    expect(decodeTelephoneEvent(Buffer.from('05 0a 00a0'.replace(/ /g, ''), 'hex'))).toEqual({ event: 5, end: false, volume: 10, duration: 160 });
    expect(decodeTelephoneEvent(Buffer.from([1, 2]))).toBeUndefined();
    expect([..."0123456789*#ABCD"].map(eventOfDigit)).toEqual([...Array(16).keys()]);
    expect(digitOfEvent(10)).toBe('*');
    expect(digitOfEvent(16)).toBeUndefined();
    expect(() => eventOfDigit('E')).toThrow(/DTMF/);
  });
});
