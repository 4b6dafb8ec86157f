/**
 * The SRTP crypto suites a UE can negotiate with SDES (RFC 4568 §6.2). Both use AES in counter mode
 * (RFC 3711 §4.1.1) with a 128-bit master key and a 112-bit master salt, HMAC-SHA1 (§4.2.1) with a 160-bit
 * session authentication key, and the AES-CM PRF for key derivation (§4.3.3).
 */
export type SrtpSuiteName = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

export interface SrtpSuite {
  name: SrtpSuiteName;
  /** Octets of the master key (and of the session encryption key, RFC 3711 §8.2: n_e = 128). */
  masterKeyLength: number;
  /** Octets of the master salt (and of the session salt, n_s = 112). */
  masterSaltLength: number;
  /** Octets of the session authentication key (n_a = 160, §8.2). */
  authKeyLength: number;
  /** Octets of the SRTP authentication tag. */
  srtpTagLength: number;
  /** Octets of the SRTCP authentication tag: 80 bits for both suites (RFC 4568 §6.2.2). */
  srtcpTagLength: number;
  /** RFC 4568 §6.2.1: the key may protect at most 2^48 SRTP packets … */
  maxSrtpPackets: number;
  /** … and 2^31 SRTCP packets. */
  maxSrtcpPackets: number;
}

const COMMON = {
  masterKeyLength: 16,
  masterSaltLength: 14,
  authKeyLength: 20,
  srtcpTagLength: 10,
  maxSrtpPackets: 2 ** 48,
  maxSrtcpPackets: 2 ** 31,
} as const;

export const SRTP_SUITES: Readonly<Record<SrtpSuiteName, SrtpSuite>> = {
  // RFC 4568 §6.2.1 (RFC 3711 §5.1, the default transforms).
  AES_CM_128_HMAC_SHA1_80: { name: 'AES_CM_128_HMAC_SHA1_80', ...COMMON, srtpTagLength: 10 },
  // RFC 4568 §6.2.2: the 32-bit tag is for SRTP only; SRTCP keeps 80 bits.
  AES_CM_128_HMAC_SHA1_32: { name: 'AES_CM_128_HMAC_SHA1_32', ...COMMON, srtpTagLength: 4 },
};

/** The suites in our order of preference (the stronger tag first). */
export const SRTP_SUITE_NAMES: readonly SrtpSuiteName[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

export function srtpSuite(name: string): SrtpSuite | undefined {
  return Object.hasOwn(SRTP_SUITES, name) ? SRTP_SUITES[name as SrtpSuiteName] : undefined;
}

/** The key material of one direction as SDES carries it: master key and master salt (RFC 3711 §8.1). */
export interface SrtpMasterKey {
  key: Buffer;
  salt: Buffer;
  /** Master Key Identifier carried in every packet, if the SDES key parameter had one (RFC 3711 §3.1). */
  mki?: Buffer;
}

/** What an RtpSession needs to protect its stream: the suite and one master key per direction. */
export interface SrtpKeys {
  suite: SrtpSuiteName;
  /** Our key: protects what we send. */
  send: SrtpMasterKey;
  /** The peer's key: authenticates and decrypts what we receive. */
  receive: SrtpMasterKey;
}
