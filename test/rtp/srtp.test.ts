import { describe, expect, it } from 'vitest';
import {
  aesCmIv,
  aesCmKeystream,
  deriveKeys,
  ReplayWindow,
  SRTP_SUITES,
  SrtpContext,
  SrtpError,
  type SrtpMasterKey,
} from '../../src/rtp/srtp/index.js';
import { encodeRtp, decodeRtp } from '../../src/rtp/packet.js';
import { decodeRtcpCompound, encodeRtcpCompound } from '../../src/rtp/rtcp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const upper = (b: Buffer) => b.toString('hex').toUpperCase();

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SrtpError) return e.failure;
    throw e;
  }
  return 'accepted';
}

describe('RFC 3711 Appendix B test vectors', () => {
  it('B.2: the AES-CM keystream for SSRC 0, index 0 (start and the end of the 2^16-block segment)', () => {
    const key = hex('2B7E151628AED2A6ABF7158809CF4F3C');
    const salt = hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD');
    const iv = aesCmIv(salt, 0, 0);
    expect(upper(iv)).toBe('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000');
    // B.2 lists the keystream of 1044512 octets (65282 blocks); first and last three blocks.
    const ks = aesCmKeystream(key, iv, 1_044_512);
    expect(upper(ks.subarray(0, 48))).toBe('E03EAD0935C95E80E166B16DD92B4EB4' + 'D23513162B02D0F72A43A2FE4A5F97AB' + '41E95B3BB0A2E8DD477901E4FCA894C0');
    expect(upper(ks.subarray(ks.length - 48))).toBe('EC8CDF7398607CB0F2D21675EA9EA1E4' + '362B7C3C6773516318A077D7FC5073AE' + '6A2CC3787889374FBEB4C81B17BA6C44');
  });

  it('B.3: key derivation with kdr 0 gives the cipher key, cipher salt and auth key', () => {
    const master: SrtpMasterKey = { key: hex('E1F97A0D3E018BE0D64FA32C06DE4139'), salt: hex('0EC675AD498AFEEBB6960B3AABE6') };
    const k = deriveKeys(master, SRTP_SUITES.AES_CM_128_HMAC_SHA1_80);
    expect(upper(k.rtp.encryptionKey)).toBe('C61E7A93744F39EE10734AFE3FF7A087');
    expect(upper(k.rtp.salt)).toBe('30CBBC08863D8C85D49DB34A9AE1');
    expect(upper(k.rtp.authKey)).toBe('CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4');
    // The SRTCP labels (3-5) give different keys from the same master.
    expect(k.rtcp.encryptionKey.equals(k.rtp.encryptionKey)).toBe(false);
    expect(k.rtcp.salt).toHaveLength(14);
    expect(k.rtcp.authKey).toHaveLength(20);
  });

  it('the IV carries the SSRC in octets 4-7 and the 48-bit index in octets 8-13 (§4.1.1)', () => {
    const iv = aesCmIv(Buffer.alloc(14), 0xdeadbeef, 0x1234_5678_9abc);
    expect(iv.toString('hex')).toBe('00000000deadbeef123456789abc0000');
  });
});

const MASTER: SrtpMasterKey = { key: hex('E1F97A0D3E018BE0D64FA32C06DE4139'), salt: hex('0EC675AD498AFEEBB6960B3AABE6') };
const PAYLOAD = Buffer.from('0123456789abcdef0123456789abcdef0123456789abcdef'.repeat(3));

function rtp(seq: number, ssrc = 0xcafebabe, payload = PAYLOAD): Buffer {
  return encodeRtp({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc, payload });
}

describe('SrtpContext: SRTP (RFC 3711 §3.3)', () => {
  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    it(`${suite}: protect → unprotect gives back the packet; header clear, payload encrypted, tag appended`, () => {
      const tx = new SrtpContext(MASTER, suite);
      const rx = new SrtpContext(MASTER, suite);
      const plain = rtp(1000);
      const wire = tx.protectRtp(plain);
      expect(wire.length).toBe(plain.length + SRTP_SUITES[suite].srtpTagLength);
      expect(wire.subarray(0, 12).equals(plain.subarray(0, 12))).toBe(true);
      expect(wire.includes(PAYLOAD.subarray(0, 8))).toBe(false);
      expect(rx.unprotectRtp(wire).equals(plain)).toBe(true);
    });
  }

  it('one flipped bit anywhere (header, payload or tag) fails authentication and changes nothing', () => {
    const tx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const rx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const wire = tx.protectRtp(rtp(7));
    for (const bit of [1 * 8 + 7 /* marker */, 12 * 8 + 3 /* payload */, (wire.length - 1) * 8 /* tag */]) {
      const bad = Buffer.from(wire);
      bad[bit >> 3] ^= 0x80 >> (bit & 7);
      expect(failure(() => rx.unprotectRtp(bad))).toBe('authentication');
    }
    expect(rx.receiveRoc(0xcafebabe)).toBeUndefined();
    // The untouched packet is still accepted afterwards: the failures moved no state.
    expect(decodeRtp(rx.unprotectRtp(wire)).sequenceNumber).toBe(7);
  });

  it('a replayed packet is rejected (§3.3.2), as is one older than the 64-packet window', () => {
    const tx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const rx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const packets = Array.from({ length: 100 }, (_, i) => tx.protectRtp(rtp(500 + i)));
    rx.unprotectRtp(packets[0]!);
    expect(failure(() => rx.unprotectRtp(packets[0]!))).toBe('replayed');
    // Out of order inside the window is fine, once.
    rx.unprotectRtp(packets[90]!);
    rx.unprotectRtp(packets[40]!);
    expect(failure(() => rx.unprotectRtp(packets[40]!))).toBe('replayed');
    // 90 − 20 = 70 ≥ 64: too old to tell.
    expect(failure(() => rx.unprotectRtp(packets[20]!))).toBe('replayed');
    expect(failure(() => rx.unprotectRtp(packets[30]!))).toBe('accepted');
  });

  it('the ROC follows a sequence number wrap on both sides, and a packet from before the wrap still decrypts (§3.3.1)', () => {
    const tx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_32');
    const rx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_32');
    const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2];
    const wire = seqs.map((s) => tx.protectRtp(rtp(s)));
    // Deliver 65533 late, after the wrap.
    for (const i of [0, 1, 2, 4, 5, 6, 7, 3, 8]) expect(decodeRtp(rx.unprotectRtp(wire[i]!)).sequenceNumber).toBe(seqs[i]);
    expect(rx.receiveRoc(0xcafebabe)).toBe(1);
    // A receiver that joins after the wrap guesses ROC 0 and cannot authenticate: the ROC is in the tag (§4.2).
    const other = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_32');
    expect(failure(() => other.unprotectRtp(wire[8]!))).toBe('authentication');
  });

  it('another master key cannot authenticate; garbage and short datagrams are malformed, never a crash', () => {
    const tx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const rx = new SrtpContext({ key: Buffer.alloc(16, 1), salt: Buffer.alloc(14, 2) }, 'AES_CM_128_HMAC_SHA1_80');
    expect(failure(() => rx.unprotectRtp(tx.protectRtp(rtp(1))))).toBe('authentication');
    expect(failure(() => rx.unprotectRtp(Buffer.alloc(5)))).toBe('malformed');
    expect(failure(() => rx.unprotectRtp(Buffer.from([0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xaa])))).toBe('malformed');
    const ext = Buffer.from([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff]);
    expect(failure(() => rx.unprotectRtp(ext))).toBe('malformed');
  });

  it('with an MKI, the MKI is carried before the tag and a different MKI is an unknown key', () => {
    const mki = Buffer.from([0, 0, 0, 7]);
    const tx = new SrtpContext({ ...MASTER, mki }, 'AES_CM_128_HMAC_SHA1_80');
    const rx = new SrtpContext({ ...MASTER, mki }, 'AES_CM_128_HMAC_SHA1_80');
    const plain = rtp(9);
    const wire = tx.protectRtp(plain);
    expect(wire.subarray(plain.length, plain.length + 4).equals(mki)).toBe(true);
    expect(rx.unprotectRtp(wire).equals(plain)).toBe(true);
    const other = new SrtpContext({ ...MASTER, mki: Buffer.from([0, 0, 0, 8]) }, 'AES_CM_128_HMAC_SHA1_80');
    expect(failure(() => other.unprotectRtp(tx.protectRtp(rtp(10))))).toBe('unknown-key');
  });

  it('rejects master keys of the wrong length and unknown suites', () => {
    expect(() => new SrtpContext({ key: Buffer.alloc(15), salt: Buffer.alloc(14) }, 'AES_CM_128_HMAC_SHA1_80')).toThrow(/16-octet master key/);
    expect(() => new SrtpContext({ key: Buffer.alloc(16), salt: Buffer.alloc(12) }, 'AES_CM_128_HMAC_SHA1_80')).toThrow(/14-octet master salt/);
    expect(() => new SrtpContext(MASTER, 'F8_128_HMAC_SHA1_80' as never)).toThrow(/unsupported/);
  });
});

describe('SrtpContext: SRTCP (RFC 3711 §3.4)', () => {
  const compound = () =>
    encodeRtcpCompound([
      { type: 'rr', ssrc: 0x11223344, reports: [] },
      { type: 'sdes', chunks: [{ ssrc: 0x11223344, cname: 'alice@127.0.10.1' }] },
    ]);

  it('E flag and a 31-bit index counting from 0 follow the encrypted part; 80-bit tag even for the _32 suite', () => {
    const tx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_32');
    const rx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_32');
    const plain = compound();
    const first = tx.protectRtcp(plain);
    const second = tx.protectRtcp(plain);
    expect(first.length).toBe(plain.length + 4 + 10);
    expect(first.subarray(0, 8).equals(plain.subarray(0, 8))).toBe(true);
    expect(first.includes(Buffer.from('alice@127.0.10.1'))).toBe(false);
    expect(first.readUInt32BE(plain.length)).toBe(0x8000_0000);
    expect(second.readUInt32BE(plain.length)).toBe(0x8000_0001);
    expect(rx.unprotectRtcp(second).equals(plain)).toBe(true);
    expect(decodeRtcpCompound(rx.unprotectRtcp(first))[1]).toMatchObject({ type: 'sdes' });
    expect(failure(() => rx.unprotectRtcp(second))).toBe('replayed');
  });

  it('a flipped E flag or index bit fails authentication (both are authenticated)', () => {
    const tx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const rx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const plain = compound();
    const wire = tx.protectRtcp(plain);
    for (const offset of [plain.length, plain.length + 3, 9]) {
      const bad = Buffer.from(wire);
      bad[offset] ^= 0x80;
      expect(failure(() => rx.unprotectRtcp(bad))).toBe('authentication');
    }
    expect(rx.unprotectRtcp(wire).equals(plain)).toBe(true);
  });

  it('an SRTP stream first heard on SRTCP still starts its ROC state at its first RTP packet', () => {
    const tx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    const rx = new SrtpContext(MASTER, 'AES_CM_128_HMAC_SHA1_80');
    rx.unprotectRtcp(tx.protectRtcp(compound()));
    const p = rtp(50_000, 0x11223344);
    expect(rx.unprotectRtp(tx.protectRtp(p)).equals(p)).toBe(true);
  });
});

describe('ReplayWindow (§3.3.2)', () => {
  it('accepts new indices, rejects seen and too-old ones, slides on big jumps', () => {
    const w = new ReplayWindow(64);
    expect(w.isNew(10)).toBe(true);
    w.accept(10);
    expect(w.isNew(10)).toBe(false);
    expect(w.isNew(9)).toBe(true);
    w.accept(1000);
    expect(w.isNew(10)).toBe(false);
    expect(w.isNew(936)).toBe(false);
    expect(w.isNew(937)).toBe(true);
    expect(w.highest).toBe(1000);
    expect(() => new ReplayWindow(32)).toThrow(/at least|64/);
  });
});
