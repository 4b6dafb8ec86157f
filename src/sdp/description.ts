import { parse, type SessionDescription, type MediaDescription } from 'sdp-transform';
import { SdpError } from './errors.js';

/**
 * Reading an SDP body (RFC 4566) into sdp-transform's object model, after the structural checks that
 * sdp-transform does not make: it silently drops lines it cannot read, and an offer/answer peer must
 * reject such a body instead of guessing.
 */
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
export type Media = SessionDescription['media'][number];
export type { SessionDescription, MediaDescription };

/** Bounds the work done on a hostile body; a real audio offer is well under 4 KB. */
const MAX_SDP_LENGTH = 65_536;

export function parseSessionDescription(text: string): SessionDescription {
  if (typeof text !== 'string' || text.length === 0) throw new SdpError('empty body');
  if (text.length > MAX_SDP_LENGTH) throw new SdpError(`body longer than ${MAX_SDP_LENGTH} octets`);
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  // RFC 4566 §5: "<type>=<value>", type one lowercase letter, no whitespace around '='.
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.length < 2 || l.charCodeAt(1) !== 0x3d || l.charCodeAt(0) < 0x61 || l.charCodeAt(0) > 0x7a) {
      throw new SdpError(`line ${i + 1} is not <type>=<value>: ${JSON.stringify(l.slice(0, 40))}`);
    }
  }
  // RFC 4566 §5: v= first, then o= and s=.
  if (lines[0] !== 'v=0') throw new SdpError('first line must be v=0');
  if (!lines[1]?.startsWith('o=')) throw new SdpError('o= must follow v=');
  if (!lines[2]?.startsWith('s=')) throw new SdpError('s= must follow o=');
  const originFields = lines[1].slice(2).split(' ');
  if (originFields.length !== 6 || !/^\d+$/.test(originFields[1]!) || !/^\d+$/.test(originFields[2]!)) {
    throw new SdpError('o= needs <username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>');
  }
  for (let i = 3; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('m=') && !/^m=[a-z]+ \d{1,5}(\/\d+)? [A-Za-z0-9/]+( [^ ]+)+$/.test(l)) {
      throw new SdpError(`m= line ${i + 1} needs <media> <port> <proto> <fmt> ...: ${JSON.stringify(l.slice(0, 60))}`);
    }
    if (l.startsWith('c=') && !/^c=IN IP[46] [^ ]+$/.test(l)) {
      throw new SdpError(`c= line ${i + 1} needs IN IP4|IP6 <address>`);
    }
  }
  const session = parse(text);
  if (session.media.length === 0) throw new SdpError('no m= line');
  for (const [i, m] of session.media.entries()) {
    if (typeof m.port !== 'number' || m.port > 65535) throw new SdpError(`m= line ${i + 1}: port out of range`);
    // RFC 4566 §5.7: c= at session level or in every media description.
    if (!session.connection && !m.connection && m.port !== 0) {
      throw new SdpError(`m= line ${i + 1} (${m.type}) has no connection address (c=)`);
    }
  }
  return session;
}

/** RFC 4566 §6 / RFC 3264 §5.1: the media-level direction attribute wins, then the session one, default sendrecv. */
export function directionOf(session: SessionDescription, m: Media): Direction {
  return (m.direction as Direction | undefined) ?? (session.direction as Direction | undefined) ?? 'sendrecv';
}

export function canSend(d: Direction): boolean {
  return d === 'sendrecv' || d === 'sendonly';
}

export function canReceive(d: Direction): boolean {
  return d === 'sendrecv' || d === 'recvonly';
}

export function directionFrom(send: boolean, receive: boolean): Direction {
  return send ? (receive ? 'sendrecv' : 'sendonly') : receive ? 'recvonly' : 'inactive';
}

/** The payload type numbers of an m-line's <fmt> list, in the offerer's order (RFC 3264 §5.1: preference). */
export function payloadTypesOf(m: Media): number[] {
  const payloads = String(m.payloads ?? '').trim();
  if (payloads === '') return [];
  return payloads.split(/\s+/).map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0 || n > 127) throw new SdpError(`payload type ${JSON.stringify(s)} is not 0-127`);
    return n;
  });
}

export function isRtpAvp(m: Media): boolean {
  return /^RTP\/(S)?AVP(F)?$/.test(m.protocol);
}
