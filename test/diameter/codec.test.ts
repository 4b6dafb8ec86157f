import { describe, expect, it } from 'vitest';
import { Avp, avp, AvpFlags, DiameterDecodeError, encodeAvp } from '../../src/diameter/avp.js';
import { DiameterMessageError, decodeMessage, encodeMessage } from '../../src/diameter/codec.js';
import { CommandFlags, DiameterMessage } from '../../src/diameter/message.js';

/** Hex of a byte list written out field by field, so the expected bytes come from the RFC layout, not the encoder. */
function hex(...parts: string[]): Buffer {
  return Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');
}

describe('Diameter codec: byte-exact layout (RFC 6733 §3, §4.1)', () => {
  it('encodes a DWR-shaped request with a base and a vendor AVP exactly as the RFC lays them out', () => {
    const m = new DiameterMessage({
      commandCode: 280,
      applicationId: 0,
      flags: CommandFlags.Request,
      hopByHop: 0x11223344,
      endToEnd: 0x55667788,
      avps: [
        avp('Origin-Host', 'h.t'),
        avp('Origin-Realm', 'ims'),
        avp('Public-Identity', 'sip:a'),
      ],
    });
    const expected = hex(
      // Version 1, Message Length 64 (20 header + 12 + 12 + 20)
      '01 000040',
      // Flags R, Command Code 280 = 0x000118
      '80 000118',
      // Application-Id 0, Hop-by-Hop, End-to-End
      '00000000 11223344 55667788',
      // Origin-Host 264 = 0x108, flags M, length 8 + 3 = 11, "h.t", one octet of padding
      '00000108 40 00000b 682e74 00',
      // Origin-Realm 296 = 0x128, flags M, length 11, "ims", padding
      '00000128 40 00000b 696d73 00',
      // Public-Identity 601 = 0x259, flags V|M, length 12 + 5 = 17, Vendor-Id 10415 = 0x28af, "sip:a", 3 octets padding
      '00000259 c0 000011 000028af 7369703a61 000000',
    );
    expect(encodeMessage(m).equals(expected)).toBe(true);
    const d = decodeMessage(expected);
    expect(d.commandCode).toBe(280);
    expect(d.isRequest).toBe(true);
    expect(d.hopByHop).toBe(0x11223344);
    expect(d.endToEnd).toBe(0x55667788);
    expect(d.originHost).toBe('h.t');
    expect(d.get(601, 10415)!.asString()).toBe('sip:a');
    expect(d.get(601, 10415)!.length).toBe(17);
  });

  it('pads every AVP to 4 octets with zeros and keeps the AVP Length unpadded', () => {
    for (let n = 0; n <= 8; n++) {
      const a = avp('User-Name', 'x'.repeat(n));
      const b = encodeAvp(a);
      expect(b.length).toBe(Math.ceil((8 + n) / 4) * 4);
      expect(b.readUIntBE(5, 3)).toBe(8 + n);
      for (let i = 8 + n; i < b.length; i++) expect(b[i]).toBe(0);
    }
  });
});

describe('Diameter codec: types', () => {
  it('keeps OctetString octets that are not valid UTF-8 intact (RAND, AUTN, CK, IK)', () => {
    const raw = Buffer.from([0xff, 0xfe, 0x80, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80, 0xf8]);
    const m = DiameterMessage.request(303, 16777216, [avp('SIP-Authenticate', raw), avp('Confidentiality-Key', Buffer.alloc(16, 0xff))]);
    const d = decodeMessage(encodeMessage(m));
    expect(d.get(609, 10415)!.asBytes().equals(raw)).toBe(true);
    expect(d.get(625, 10415)!.asBytes().equals(Buffer.alloc(16, 0xff))).toBe(true);
  });

  it('round-trips every basic and derived type', () => {
    const t = new Date('2030-06-01T12:34:56Z');
    const m = DiameterMessage.request(1000, 0, [
      avp(1, 'ünïcødé ✓', { type: 'UTF8String' }),
      avp(2, -123456, { type: 'Integer32' }),
      avp(3, -(2n ** 62n), { type: 'Integer64' }),
      avp(4, 0xffffffff, { type: 'Unsigned32' }),
      avp(5, 2n ** 64n - 1n, { type: 'Unsigned64' }),
      avp(6, 1.5, { type: 'Float32' }),
      avp(7, Math.PI, { type: 'Float64' }),
      avp('Host-IP-Address', '192.0.2.7'),
      avp('Host-IP-Address', '2001:db8::1'),
      avp('Host-IP-Address', '::ffff:10.1.2.3'),
      avp('Event-Timestamp', t),
      avp('Disconnect-Cause', 2),
      avp('Redirect-Host', 'aaa://hss.ims.test:3868;transport=tcp'),
    ]);
    const d = decodeMessage(encodeMessage(m));
    expect(d.get(1)!.asString()).toBe('ünïcødé ✓');
    expect(d.get(2)!.asI32()).toBe(-123456);
    expect(d.get(3)!.asI64()).toBe(-(2n ** 62n));
    expect(d.get(4)!.asU32()).toBe(0xffffffff);
    expect(d.get(5)!.asU64()).toBe(2n ** 64n - 1n);
    expect(d.get(6)!.asF32()).toBe(1.5);
    expect(d.get(7)!.asF64()).toBe(Math.PI);
    const ips = d.getAll(257).map((a) => a.asAddress());
    expect(ips).toEqual([
      { family: 1, address: '192.0.2.7' },
      { family: 2, address: '2001:db8::1' },
      { family: 2, address: '::ffff:a01:203' },
    ]);
    expect(d.getAll(257)[1]!.asBytes().subarray(2).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(d.get(55)!.asTime().getTime()).toBe(t.getTime());
    // NTP seconds: 2030-06-01 is 3 800 000 000-ish, top bit set (era 0).
    expect(d.get(55)!.asBytes().readUInt32BE(0)).toBe(t.getTime() / 1000 + 2208988800);
    expect(d.get(273)!.asEnum()).toBe(2);
    expect(d.get(292)!.asString()).toBe('aaa://hss.ims.test:3868;transport=tcp');
  });

  it('reads Time after the 2036 NTP rollover (RFC 6733 §4.3.1)', () => {
    const t = new Date('2040-01-01T00:00:00Z');
    const a = avp('Event-Timestamp', t);
    expect(a.asBytes().readUInt32BE(0)).toBe((t.getTime() / 1000 + 2208988800) % 2 ** 32);
    expect(a.asTime().getTime()).toBe(t.getTime());
  });

  it('nests grouped and vendor AVPs recursively and sets flags from the dictionary', () => {
    const m = DiameterMessage.request(303, 16777216, [
      avp('SIP-Auth-Data-Item', [
        avp('SIP-Item-Number', 1),
        avp('SIP-Digest-Authenticate', [avp('Digest-Realm', 'ims.test'), avp('Digest-HA1', 'abc')]),
      ]),
      avp('Supported-Features', [avp('Vendor-Id', 10415), avp('Feature-List-ID', 1), avp('Feature-List', 5)]),
    ]);
    const b = encodeMessage(m);
    const d = decodeMessage(b);
    const item = d.get(612, 10415)!;
    expect(item.flags).toBe(AvpFlags.Vendor | AvpFlags.Mandatory);
    expect(item.get(613, 10415)!.asU32()).toBe(1);
    const digest = item.get(635, 10415)!;
    // TS 29.229 Table 6.3.1: AVPs from 628 on carry V and not M.
    expect(digest.flags).toBe(AvpFlags.Vendor);
    expect(digest.get(104)!.asString()).toBe('ims.test');
    expect(digest.get(121)!.asString()).toBe('abc');
    const sf = d.get(628, 10415)!;
    expect(sf.get(629, 10415)!.flags).toBe(AvpFlags.Vendor);
    expect(sf.get(630, 10415)!.asU32()).toBe(5);
    expect(encodeMessage(d).equals(b)).toBe(true);
  });

  it('keeps unknown AVPs raw and re-encodes them unchanged', () => {
    const unknown = hex('0001e240 a0 000011 00abcdef 0102030405 000000'); // code 123456, V|P, vendor 0xabcdef
    const known = encodeAvp(avp('Origin-Host', 'x'));
    const body = Buffer.concat([known, unknown]);
    const header = hex('01', (20 + body.length).toString(16).padStart(6, '0'), '80 000118 00000000 00000001 00000002');
    const wire = Buffer.concat([header, body]);
    const d = decodeMessage(wire);
    const u = d.get(123456, 0xabcdef)!;
    expect(u).toBeDefined();
    expect(u.isProtected).toBe(true);
    expect(u.asBytes().toString('hex')).toBe('0102030405');
    expect(encodeMessage(d).equals(wire)).toBe(true);
  });

  it('refuses to build values that do not fit their type', () => {
    expect(() => avp('Result-Code', -1)).toThrow(TypeError);
    expect(() => avp('Result-Code', 2 ** 32)).toThrow(TypeError);
    expect(() => avp('Host-IP-Address', 'not-an-ip')).toThrow(TypeError);
    expect(() => avp('No-Such-AVP', 1)).toThrow(/no AVP named/);
    expect(() => avp(99999, 1)).toThrow(/not in the dictionary/);
  });
});

describe('Diameter codec: decode errors carry the Result-Code to answer (RFC 6733 §7.1)', () => {
  const good = () =>
    encodeMessage(
      new DiameterMessage({
        commandCode: 303,
        applicationId: 16777216,
        flags: 0xc0,
        hopByHop: 7,
        endToEnd: 9,
        avps: [avp('Session-Id', 's;1;2'), avp('Result-Code', 2001), avp('User-Name', 'alice')],
      }),
    );

  function decodeError(buf: Buffer): DiameterDecodeError {
    try {
      decodeMessage(buf);
    } catch (e) {
      expect(e).toBeInstanceOf(DiameterDecodeError);
      return e as DiameterDecodeError;
    }
    throw new Error('decoded without error');
  }

  it('5015 when the Message Length does not match the octets', () => {
    const b = Buffer.concat([good(), Buffer.alloc(4)]);
    expect(decodeError(b).resultCode).toBe(5015);
    expect(decodeError(good().subarray(0, 12)).resultCode).toBe(5015);
  });

  it('5011 for a version other than 1', () => {
    const b = good();
    b[0] = 2;
    expect(decodeError(b).resultCode).toBe(5011);
  });

  it('3008 for a request with the E bit, and keeps the header for the answer', () => {
    const b = good();
    b[4] = 0xa0;
    const e = decodeError(b);
    expect(e.resultCode).toBe(3008);
    expect(e).toBeInstanceOf(DiameterMessageError);
    expect((e as DiameterMessageError).header.hopByHop).toBe(7);
  });

  it('5014 with Failed-AVP when an AVP Length overruns the message', () => {
    const b = good();
    // Second AVP (Result-Code) starts at 20 + 16 = 36; claim 200 octets.
    expect(b.readUInt32BE(36)).toBe(268);
    b.writeUIntBE(200, 41, 3);
    const e = decodeError(b);
    expect(e.resultCode).toBe(5014);
    expect(e.failedAvp!.code).toBe(268);
  });

  it('5014 when a fixed-size type has the wrong size', () => {
    const b = hex('01 000020 80 000118 00000000 00000001 00000002', '0000010c 40 00000a 0000', '0000');
    // Result-Code (268 = 0x10c) with a 2-octet payload
    const e = decodeError(b);
    expect(e.resultCode).toBe(5014);
    expect(e.failedAvp!.code).toBe(268);
  });

  it('5014 for an AVP Length below its header', () => {
    const b = good();
    b.writeUIntBE(4, 41, 3);
    expect(decodeError(b).resultCode).toBe(5014);
  });

  it('3009 for reserved AVP flag bits', () => {
    const b = good();
    b[40] = 0x41;
    const e = decodeError(b);
    expect(e.resultCode).toBe(3009);
    expect(e.failedAvp!.code).toBe(268);
  });

  it('an AVP value of the wrong size reports itself when read', () => {
    const a = new Avp(268, 0x40, 0, Buffer.alloc(3));
    expect(() => a.asU32()).toThrow(/Unsigned32 needs 4 octets/);
  });
});
