import { describe, expect, it } from 'vitest';
import { StreamFramer, type FramedItem } from '../../../src/sip/framing.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { REGISTER, INVITE } from '../../../bench/sip-codec.js';

const bytesOf = (items: FramedItem[]) => items.map((i) => ('bytes' in i ? i.bytes : Buffer.from(`ERROR ${i.error}`)));

describe('StreamFramer', () => {
  it('cuts many messages out of one chunk, skipping CRLF keep-alives (RFC 5626 §3.5.1)', () => {
    const f = new StreamFramer();
    const chunk = Buffer.concat([Buffer.from('\r\n\r\n'), REGISTER, INVITE, Buffer.from('\r\n'), REGISTER, Buffer.from('\r\n\r\n')]);
    const out = bytesOf(f.push(chunk));
    expect(out).toHaveLength(3);
    expect(out[0]!.equals(REGISTER)).toBe(true);
    expect(out[1]!.equals(INVITE)).toBe(true);
    expect(out[2]!.equals(REGISTER)).toBe(true);
    expect(f.buffered).toBe(0);
    expect(parseMessage(out[1]!, { transport: 'stream' }).body.length).toBeGreaterThan(0);
  });

  it('reassembles a message pushed one byte at a time', () => {
    const f = new StreamFramer();
    const all = Buffer.concat([INVITE, REGISTER]);
    const out: Buffer[] = [];
    for (let i = 0; i < all.length; i++) out.push(...bytesOf(f.push(all.subarray(i, i + 1))));
    expect(out).toHaveLength(2);
    expect(out[0]!.equals(INVITE)).toBe(true);
    expect(out[1]!.equals(REGISTER)).toBe(true);
  });

  it('reads the compact form l and a folded Content-Length', () => {
    const f = new StreamFramer();
    const a = Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nl: 3\r\n\r\nabc');
    const b = Buffer.from('MESSAGE sip:a@b SIP/2.0\r\nContent-Length:\r\n 2\r\n\r\nxy');
    const out = bytesOf(f.push(Buffer.concat([a, b])));
    expect(out.map((x) => x.toString())).toEqual([a.toString(), b.toString()]);
  });

  it('reports 1 MB of garbage as one error item, without hanging or throwing', () => {
    const f = new StreamFramer();
    const garbage = Buffer.alloc(1024 * 1024, 'x');
    const items: FramedItem[] = [];
    for (let i = 0; i < garbage.length; i += 16 * 1024) items.push(...f.push(garbage.subarray(i, i + 16 * 1024)));
    expect(items).toHaveLength(1);
    expect(items[0]).toHaveProperty('error');
    expect((items[0] as { error: string }).error).toMatch(/Header section longer/);
    expect(f.broken).toBe(true);
    expect(f.push(REGISTER)).toEqual([]);
  });

  it('reports a header that never ends once it passes the limit', () => {
    const f = new StreamFramer({ maxHeaderBytes: 4096 });
    expect(f.push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nSubject: '))).toEqual([]);
    const items: FramedItem[] = [];
    for (let i = 0; i < 100; i++) items.push(...f.push(Buffer.alloc(100, 'a')));
    expect(items).toEqual([{ error: 'Header section longer than 4096 octets' }]);
  });

  it('rejects a missing, negative or oversized Content-Length', () => {
    expect(new StreamFramer().push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n'))[0]).toEqual({ error: 'Content-Length missing on a stream transport (§18.3)' });
    expect(new StreamFramer().push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: -5\r\n\r\n'))[0]).toHaveProperty('error');
    const big = new StreamFramer({ maxBodyBytes: 1000 }).push(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1001\r\n\r\n'));
    expect(big[0]).toEqual({ error: 'Content-Length 1001 over the limit of 1000' });
  });

  it('delivers messages completed before an error in the same chunk', () => {
    const items = new StreamFramer().push(Buffer.concat([REGISTER, Buffer.from('BYE sip:a@b SIP/2.0\r\n\r\n')]));
    expect(items).toHaveLength(2);
    expect('bytes' in items[0]! && items[0].bytes.equals(REGISTER)).toBe(true);
    expect(items[1]).toHaveProperty('error');
  });
});
