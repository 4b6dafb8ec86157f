import { describe, expect, it } from 'vitest';
import { avp } from '../../src/diameter/avp.js';
import { encodeMessage } from '../../src/diameter/codec.js';
import { DiameterFramer, DiameterFramingError } from '../../src/diameter/framing.js';
import { DiameterMessage } from '../../src/diameter/message.js';

function message(i: number, pad = 0): Buffer {
  const m = DiameterMessage.request(303, 16777216, [avp('Session-Id', `s;${i}`), avp('User-Name', 'u'.repeat(pad))]);
  m.hopByHop = i;
  return encodeMessage(m);
}

function collect(framer: DiameterFramer, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) framer.push(c, (m) => out.push(Buffer.from(m)));
  return out;
}

describe('DiameterFramer (RFC 6733 §3 message length framing)', () => {
  const msgs = Array.from({ length: 50 }, (_, i) => message(i, i * 7));
  const stream = Buffer.concat(msgs);

  it('cuts many messages out of one read', () => {
    const out = collect(new DiameterFramer(), [stream]);
    expect(out.length).toBe(50);
    out.forEach((m, i) => expect(m.equals(msgs[i]!)).toBe(true));
  });

  it('joins a message delivered byte by byte', () => {
    const chunks = [...stream].map((b) => Buffer.from([b]));
    const f = new DiameterFramer();
    const out = collect(f, chunks);
    expect(out.length).toBe(50);
    out.forEach((m, i) => expect(m.equals(msgs[i]!)).toBe(true));
    expect(f.buffered).toBe(0);
  });

  it('handles arbitrary split points', () => {
    for (const size of [3, 19, 20, 21, 97, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      const out = collect(new DiameterFramer(), chunks);
      expect(out.map((m) => m.readUInt32BE(12))).toEqual(msgs.map((_, i) => i));
    }
  });

  it('fails on a length below the header, and stays failed', () => {
    const bad = Buffer.from(msgs[0]!);
    bad.writeUIntBE(12, 1, 3);
    const f = new DiameterFramer();
    const out: Buffer[] = [];
    expect(() => f.push(Buffer.concat([msgs[1]!, bad]), (m) => out.push(m))).toThrow(DiameterFramingError);
    expect(out.length).toBe(1);
    expect(() => f.push(msgs[2]!, () => undefined)).toThrow(/shorter than the header/);
  });

  it('fails on a length above the limit', () => {
    const f = new DiameterFramer(1024);
    expect(() => f.push(message(1, 2000), () => undefined)).toThrow(/exceeds the limit/);
  });

  it('fails on a version other than 1 (garbage on the stream)', () => {
    expect(() => new DiameterFramer().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'), () => undefined)).toThrow(/version 71/);
  });
});
