import { createCipheriv } from 'node:crypto';

/**
 * AES in Counter Mode as RFC 3711 §4.1.1 defines it: the keystream is AES_k(IV), AES_k(IV + 1), …, with
 * the 128-bit IV built from the session salt, the SSRC and the packet index. Encryption and decryption are
 * the same XOR. Node's aes-128-ctr increments the whole 128-bit block, which equals the RFC's 16-bit block
 * counter for every packet shorter than 2^16 blocks (1 MB), far above any UDP datagram.
 */

/**
 * §4.1.1: IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16), with the 112-bit salt in the top 14
 * octets. The SRTCP IV is the same with the 31-bit SRTCP index as i (§4.1.1, last paragraph).
 */
export function aesCmIv(salt: Buffer, ssrc: number, index: number): Buffer {
  if (salt.length !== 14) throw new RangeError(`AES-CM session salt must be 14 octets, got ${salt.length}`);
  const iv = Buffer.alloc(16);
  salt.copy(iv, 0);
  // SSRC · 2^64 lands on octets 4..7; the 48-bit index · 2^16 on octets 8..13.
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const hi = Math.floor(index / 0x1_0000_0000);
  const lo = index >>> 0;
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ (hi & 0xffff), 8);
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ lo) >>> 0, 10);
  return iv;
}

/** XORs `data` (a view, not changed) with the keystream started at `iv`; returns new bytes. */
export function aesCmTransform(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const c = createCipheriv('aes-128-ctr', key, iv);
  return c.update(data);
}

/** The first `length` octets of the keystream at `iv` (what encrypting zeros yields). */
export function aesCmKeystream(key: Buffer, iv: Buffer, length: number): Buffer {
  return aesCmTransform(key, iv, Buffer.alloc(length));
}
