import { aesCmKeystream } from './aes-cm.js';
import type { SrtpMasterKey, SrtpSuite } from './suite.js';

/**
 * SRTP key derivation (RFC 3711 §4.3) with the AES-CM PRF (§4.3.3) and key derivation rate 0, the SDES
 * default (RFC 4568 §6.3.1: KDR absent means 0): every session key is derived once, from index 0.
 *
 *   key_id = <label> || r,   r = index DIV kdr = 0 (48 bits)
 *   x      = key_id XOR master_salt          (both right-aligned in 112 bits)
 *   key    = PRF_n(k_master, x) = first n bits of AES-CM keystream at IV = x · 2^16
 */
export const SrtpLabel = {
  RtpEncryption: 0x00,
  RtpAuthentication: 0x01,
  RtpSalt: 0x02,
  RtcpEncryption: 0x03,
  RtcpAuthentication: 0x04,
  RtcpSalt: 0x05,
} as const;
export type SrtpLabel = (typeof SrtpLabel)[keyof typeof SrtpLabel];

export interface SessionKeys {
  encryptionKey: Buffer;
  authKey: Buffer;
  salt: Buffer;
}

export interface DerivedKeys {
  rtp: SessionKeys;
  rtcp: SessionKeys;
}

/** PRF_n(k_master, x) of §4.3.1 for one label, with r = 0. */
export function deriveSessionKey(master: SrtpMasterKey, label: SrtpLabel, length: number): Buffer {
  if (master.salt.length !== 14) throw new RangeError(`master salt must be 14 octets, got ${master.salt.length}`);
  const iv = Buffer.alloc(16);
  master.salt.copy(iv, 0);
  // key_id = label || 48 zero bits: the label is the 7th octet from the right of the 112-bit value.
  iv[7] = iv[7]! ^ label;
  return aesCmKeystream(master.key, iv, length);
}

export function deriveKeys(master: SrtpMasterKey, suite: SrtpSuite): DerivedKeys {
  if (master.key.length !== suite.masterKeyLength) {
    throw new RangeError(`${suite.name} needs a ${suite.masterKeyLength}-octet master key, got ${master.key.length}`);
  }
  if (master.salt.length !== suite.masterSaltLength) {
    throw new RangeError(`${suite.name} needs a ${suite.masterSaltLength}-octet master salt, got ${master.salt.length}`);
  }
  const n = suite.masterKeyLength;
  const s = suite.masterSaltLength;
  const a = suite.authKeyLength;
  return {
    rtp: {
      encryptionKey: deriveSessionKey(master, SrtpLabel.RtpEncryption, n),
      authKey: deriveSessionKey(master, SrtpLabel.RtpAuthentication, a),
      salt: deriveSessionKey(master, SrtpLabel.RtpSalt, s),
    },
    rtcp: {
      encryptionKey: deriveSessionKey(master, SrtpLabel.RtcpEncryption, n),
      authKey: deriveSessionKey(master, SrtpLabel.RtcpAuthentication, a),
      salt: deriveSessionKey(master, SrtpLabel.RtcpSalt, s),
    },
  };
}
