import { write, type SessionDescription } from 'sdp-transform';
import type { Codec } from './codecs.js';
import type { Direction, Media } from './description.js';

/**
 * Writing the one audio stream a UE has (and the m-lines it turns down) through sdp-transform's writer.
 */
export interface SdpOrigin {
  username: string;
  /** RFC 4566 §5.2: numeric, unique per session; kept for the life of the session. */
  sessionId: string;
  /** RFC 3264 §8: incremented by one whenever the description changes. */
  sessionVersion: string;
}

export interface AudioStream {
  kind: 'audio';
  port: number;
  codecs: readonly Codec[];
  direction: Direction;
  /** The m= line's transport, default RTP/AVP; RTP/SAVP when the stream is SRTP (RFC 3711 §12, RFC 4568). */
  protocol?: string;
  /** Attribute values without "a=" that sdp-transform has no grammar for (preconditions, crypto). */
  extra?: readonly string[];
}

/** RFC 3264 §6: a declined stream keeps its media, transport and formats, with port zero. */
export interface RejectedStream {
  kind: 'rejected';
  offered: Media;
}

export function nextVersion(o: SdpOrigin): SdpOrigin {
  return { ...o, sessionVersion: (BigInt(o.sessionVersion) + 1n).toString() };
}

/** Packetisation time of every stream a UE sends (TS 26.114 §7.4.2: 20 ms for speech). */
export const PTIME_MS = 20;

export function writeSessionDescription(origin: SdpOrigin, address: string, streams: readonly (AudioStream | RejectedStream)[]): string {
  const ipVer = address.includes(':') ? 6 : 4;
  const sd: SessionDescription = {
    version: 0,
    origin: {
      username: origin.username,
      // sdp-transform types these as numbers but writes them with %s; strings keep 64-bit ids intact.
      sessionId: origin.sessionId as unknown as number,
      sessionVersion: origin.sessionVersion as unknown as number,
      netType: 'IN',
      ipVer,
      address,
    },
    name: '-',
    connection: { version: ipVer, ip: address },
    timing: { start: 0, stop: 0 },
    media: streams.map((s) => (s.kind === 'audio' ? audioMedia(s) : rejectedMedia(s))),
  };
  return write(sd);
}

function audioMedia(s: AudioStream): Media {
  const m: Media = {
    type: 'audio',
    port: s.port,
    protocol: s.protocol ?? 'RTP/AVP',
    payloads: s.codecs.map((c) => c.payloadType).join(' '),
    rtp: s.codecs.map((c) => ({
      payload: c.payloadType,
      codec: c.name,
      rate: c.clockRate,
      ...(c.channels > 1 ? { encoding: c.channels } : {}),
    })),
    fmtp: s.codecs.filter((c) => c.fmtp).map((c) => ({ payload: c.payloadType, config: c.fmtp! })),
    ptime: PTIME_MS,
    direction: s.direction,
  };
  if (s.extra?.length) m.invalid = s.extra.map((value) => ({ value }));
  return m;
}

function rejectedMedia(s: RejectedStream): Media {
  return {
    type: s.offered.type,
    port: 0,
    protocol: s.offered.protocol,
    payloads: String(s.offered.payloads ?? '').trim() || '0',
    rtp: [],
    fmtp: [],
  };
}
