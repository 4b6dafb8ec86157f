import { DiameterDecodeError, decodeAvpList, paddedLength, writeAvp } from './avp.js';
import { defaultDictionary, type Dictionary } from './dictionary/index.js';
import { CommandFlags, DIAMETER_HEADER_LENGTH, DIAMETER_VERSION, DiameterMessage } from './message.js';

export { DiameterDecodeError } from './avp.js';

/** Result-Codes of RFC 6733 §7.1 that decoding itself can produce. */
const DIAMETER_INVALID_HDR_BITS = 3008;
const DIAMETER_UNSUPPORTED_VERSION = 5011;
const DIAMETER_INVALID_MESSAGE_LENGTH = 5015;

/** The fixed 20-octet header (RFC 6733 §3). */
export interface DiameterHeader {
  version: number;
  length: number;
  flags: number;
  commandCode: number;
  applicationId: number;
  hopByHop: number;
  endToEnd: number;
}

/** A decode failure for a message whose header was readable, so that an answer can still be built. */
export class DiameterMessageError extends DiameterDecodeError {
  constructor(
    cause: DiameterDecodeError,
    readonly header: DiameterHeader,
  ) {
    super(cause.message, cause.resultCode, cause.failedAvp);
    this.name = 'DiameterMessageError';
  }
}

export function decodeHeader(buf: Buffer): DiameterHeader {
  if (buf.length < DIAMETER_HEADER_LENGTH) {
    throw new DiameterDecodeError(`message of ${buf.length} octets is shorter than the header`, DIAMETER_INVALID_MESSAGE_LENGTH);
  }
  return {
    version: buf[0]!,
    length: (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!,
    flags: buf[4]!,
    commandCode: (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!,
    applicationId: buf.readUInt32BE(8),
    hopByHop: buf.readUInt32BE(12),
    endToEnd: buf.readUInt32BE(16),
  };
}

/**
 * Decodes one whole message. Throws DiameterDecodeError (or DiameterMessageError, which also carries the
 * header) with the Result-Code to answer per RFC 6733 §7.1 and the offending AVP for Failed-AVP (§7.5).
 */
export function decodeMessage(buf: Buffer, dict: Dictionary = defaultDictionary): DiameterMessage {
  const h = decodeHeader(buf);
  try {
    if (h.version !== DIAMETER_VERSION) {
      throw new DiameterDecodeError(`version ${h.version} is not 1`, DIAMETER_UNSUPPORTED_VERSION);
    }
    if (h.length !== buf.length || h.length % 4 !== 0) {
      throw new DiameterDecodeError(`Message Length ${h.length} for ${buf.length} octets`, DIAMETER_INVALID_MESSAGE_LENGTH);
    }
    // §3: "If set [E], the message contains a protocol error" — meaningless, hence invalid, on a request.
    if (h.flags & CommandFlags.Request && h.flags & CommandFlags.Error) {
      throw new DiameterDecodeError('request with the E bit set', DIAMETER_INVALID_HDR_BITS);
    }
    const avps = decodeAvpList(buf, DIAMETER_HEADER_LENGTH, h.length, dict);
    return new DiameterMessage({
      commandCode: h.commandCode,
      applicationId: h.applicationId,
      flags: h.flags,
      hopByHop: h.hopByHop,
      endToEnd: h.endToEnd,
      avps,
    });
  } catch (e) {
    if (e instanceof DiameterDecodeError) throw new DiameterMessageError(e, h);
    throw e;
  }
}

/** Encodes a message into one freshly allocated buffer, computing every length field. */
export function encodeMessage(m: DiameterMessage): Buffer {
  let length = DIAMETER_HEADER_LENGTH;
  for (const a of m.avps) length += paddedLength(a.length);
  if (length > 0xff_ffff) throw new RangeError(`Diameter message of ${length} octets exceeds the 24-bit length`);
  if (m.commandCode < 0 || m.commandCode > 0xff_ffff) throw new RangeError(`command code ${m.commandCode} is not 24 bits`);
  const buf = Buffer.allocUnsafe(length);
  buf[0] = m.version;
  buf[1] = (length >>> 16) & 0xff;
  buf[2] = (length >>> 8) & 0xff;
  buf[3] = length & 0xff;
  buf[4] = m.flags;
  buf[5] = (m.commandCode >>> 16) & 0xff;
  buf[6] = (m.commandCode >>> 8) & 0xff;
  buf[7] = m.commandCode & 0xff;
  buf.writeUInt32BE(m.applicationId >>> 0, 8);
  buf.writeUInt32BE(m.hopByHop >>> 0, 12);
  buf.writeUInt32BE(m.endToEnd >>> 0, 16);
  let off = DIAMETER_HEADER_LENGTH;
  for (const a of m.avps) off = writeAvp(buf, off, a);
  return buf;
}
