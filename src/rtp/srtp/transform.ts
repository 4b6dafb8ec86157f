import { createHmac, timingSafeEqual } from 'node:crypto';
import { aesCmIv, aesCmTransform } from './aes-cm.js';
import { SrtpError } from './errors.js';
import type { SessionKeys } from './key-derivation.js';
import type { SrtpSuite } from './suite.js';

/**
 * The packet transforms of RFC 3711, pure: given session keys and the packet index, RTP ⇄ SRTP (§3.1, §3.3)
 * and RTCP ⇄ SRTCP (§3.4). The index bookkeeping (ROC, SRTCP index, replay list) lives in SrtpContext.
 *
 *   SRTP:  RTP header | encrypted payload | [MKI] | auth tag
 *          tag = HMAC-SHA1(k_a, header ‖ encrypted payload ‖ ROC)  truncated (§4.2)
 *   SRTCP: first 8 octets of RTCP | encrypted rest | E ‖ SRTCP index (32 bits) | [MKI] | auth tag
 *          tag = HMAC-SHA1(k_a, everything before the MKI)   (§3.4)
 */

export const RTP_FIXED_HEADER = 12;
/** §3.4: the first RTCP header (V, P, RC, PT, length) and the sender SSRC stay in the clear. */
export const RTCP_CLEAR_PREFIX = 8;
const E_FLAG = 0x8000_0000;

/** Length of the RTP header that SRTP leaves in the clear: fixed part, CSRCs, header extension (§3.1). */
export function rtpHeaderLength(packet: Buffer): number {
  if (packet.length < RTP_FIXED_HEADER) throw new SrtpError('malformed', `${packet.length} octets, RTP header needs 12`);
  const b0 = packet[0]!;
  if (b0 >> 6 !== 2) throw new SrtpError('malformed', `RTP version ${b0 >> 6}`);
  let n = RTP_FIXED_HEADER + 4 * (b0 & 0x0f);
  if (b0 & 0x10) {
    if (packet.length < n + 4) throw new SrtpError('malformed', 'header extension runs past the end');
    n += 4 + 4 * packet.readUInt16BE(n + 2);
  }
  if (packet.length < n) throw new SrtpError('malformed', 'RTP header runs past the end');
  return n;
}

function tag(authKey: Buffer, length: number, parts: readonly Buffer[]): Buffer {
  const h = createHmac('sha1', authKey);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, length);
}

function rocBytes(roc: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(roc >>> 0, 0);
  return b;
}

/** §3.3: encrypts the payload of one RTP packet with index i = ROC · 2^16 + SEQ and appends [MKI] and the tag. */
export function protectRtp(keys: SessionKeys, suite: SrtpSuite, packet: Buffer, index: number, mki?: Buffer): Buffer {
  const h = rtpHeaderLength(packet);
  const ssrc = packet.readUInt32BE(8);
  const payload = aesCmTransform(keys.encryptionKey, aesCmIv(keys.salt, ssrc, index), packet.subarray(h));
  const mkiLength = mki?.length ?? 0;
  const out = Buffer.allocUnsafe(h + payload.length + mkiLength + suite.srtpTagLength);
  packet.copy(out, 0, 0, h);
  payload.copy(out, h);
  const authenticated = out.subarray(0, h + payload.length);
  if (mki) mki.copy(out, authenticated.length);
  // §4.2: the ROC is authenticated although it is never sent.
  tag(keys.authKey, suite.srtpTagLength, [authenticated, rocBytes(Math.floor(index / 0x1_0000))]).copy(out, authenticated.length + mkiLength);
  return out;
}

/** The parts of an SRTP packet, found without any key: what SrtpContext needs to estimate the index. */
export interface SrtpLayout {
  headerLength: number;
  /** Header ‖ encrypted payload, the authenticated portion without the ROC. */
  authenticated: Buffer;
  mki: Buffer;
  tag: Buffer;
  ssrc: number;
  sequenceNumber: number;
}

export function srtpLayout(packet: Buffer, suite: SrtpSuite, mkiLength: number): SrtpLayout {
  const headerLength = rtpHeaderLength(packet);
  const trailer = mkiLength + suite.srtpTagLength;
  if (packet.length < headerLength + trailer) {
    throw new SrtpError('malformed', `${packet.length} octets cannot hold the header, MKI and ${suite.srtpTagLength}-octet tag`);
  }
  const end = packet.length - trailer;
  return {
    headerLength,
    authenticated: packet.subarray(0, end),
    mki: packet.subarray(end, end + mkiLength),
    tag: packet.subarray(end + mkiLength),
    ssrc: packet.readUInt32BE(8),
    sequenceNumber: packet.readUInt16BE(2),
  };
}

/** §3.3 steps 4-6: checks the tag for index i, then decrypts. Throws SrtpError('authentication'). */
export function unprotectRtp(keys: SessionKeys, suite: SrtpSuite, layout: SrtpLayout, index: number): Buffer {
  const expected = tag(keys.authKey, suite.srtpTagLength, [layout.authenticated, rocBytes(Math.floor(index / 0x1_0000))]);
  if (!timingSafeEqual(expected, layout.tag)) throw new SrtpError('authentication', `SRTP tag mismatch (SSRC ${layout.ssrc}, SEQ ${layout.sequenceNumber})`);
  const h = layout.headerLength;
  const payload = aesCmTransform(keys.encryptionKey, aesCmIv(keys.salt, layout.ssrc, index), layout.authenticated.subarray(h));
  const out = Buffer.allocUnsafe(h + payload.length);
  layout.authenticated.copy(out, 0, 0, h);
  payload.copy(out, h);
  return out;
}

/** §3.4: encrypts everything after the first 8 octets with the 31-bit SRTCP index, sets E, adds [MKI] and the tag. */
export function protectRtcp(keys: SessionKeys, suite: SrtpSuite, packet: Buffer, srtcpIndex: number, mki?: Buffer): Buffer {
  if (packet.length < RTCP_CLEAR_PREFIX || packet[0]! >> 6 !== 2) throw new SrtpError('malformed', 'not an RTCP packet');
  if (srtcpIndex < 0 || srtcpIndex > 0x7fff_ffff) throw new RangeError('SRTCP index is 31 bits');
  const ssrc = packet.readUInt32BE(4);
  const encrypted = aesCmTransform(keys.encryptionKey, aesCmIv(keys.salt, ssrc, srtcpIndex), packet.subarray(RTCP_CLEAR_PREFIX));
  const mkiLength = mki?.length ?? 0;
  const authLength = packet.length + 4;
  const out = Buffer.allocUnsafe(authLength + mkiLength + suite.srtcpTagLength);
  packet.copy(out, 0, 0, RTCP_CLEAR_PREFIX);
  encrypted.copy(out, RTCP_CLEAR_PREFIX);
  out.writeUInt32BE((E_FLAG | srtcpIndex) >>> 0, packet.length);
  if (mki) mki.copy(out, authLength);
  tag(keys.authKey, suite.srtcpTagLength, [out.subarray(0, authLength)]).copy(out, authLength + mkiLength);
  return out;
}

export interface SrtcpLayout {
  authenticated: Buffer;
  mki: Buffer;
  tag: Buffer;
  ssrc: number;
  index: number;
  encrypted: boolean;
}

export function srtcpLayout(packet: Buffer, suite: SrtpSuite, mkiLength: number): SrtcpLayout {
  const trailer = 4 + mkiLength + suite.srtcpTagLength;
  if (packet.length < RTCP_CLEAR_PREFIX + trailer) throw new SrtpError('malformed', `${packet.length} octets are too short for SRTCP`);
  if (packet[0]! >> 6 !== 2) throw new SrtpError('malformed', `RTCP version ${packet[0]! >> 6}`);
  const authEnd = packet.length - mkiLength - suite.srtcpTagLength;
  const word = packet.readUInt32BE(authEnd - 4);
  return {
    authenticated: packet.subarray(0, authEnd),
    mki: packet.subarray(authEnd, authEnd + mkiLength),
    tag: packet.subarray(authEnd + mkiLength),
    ssrc: packet.readUInt32BE(4),
    index: word & 0x7fff_ffff,
    encrypted: (word & E_FLAG) !== 0,
  };
}

/** §3.4: checks the tag, then decrypts if the E flag says the sender encrypted. Returns the RTCP compound. */
export function unprotectRtcp(keys: SessionKeys, suite: SrtpSuite, layout: SrtcpLayout): Buffer {
  const expected = tag(keys.authKey, suite.srtcpTagLength, [layout.authenticated]);
  if (!timingSafeEqual(expected, layout.tag)) throw new SrtpError('authentication', `SRTCP tag mismatch (SSRC ${layout.ssrc}, index ${layout.index})`);
  const body = layout.authenticated.subarray(0, layout.authenticated.length - 4);
  if (!layout.encrypted) return Buffer.from(body);
  const clear = aesCmTransform(keys.encryptionKey, aesCmIv(keys.salt, layout.ssrc, layout.index), body.subarray(RTCP_CLEAR_PREFIX));
  const out = Buffer.allocUnsafe(body.length);
  body.copy(out, 0, 0, RTCP_CLEAR_PREFIX);
  clear.copy(out, RTCP_CLEAR_PREFIX);
  return out;
}
