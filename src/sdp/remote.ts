import { DEFAULT_CODECS, matchCodec, type Codec, type CodecName, type OfferedFormat } from './codecs.js';
import { SdpError } from './errors.js';
import {
  directionOf,
  isRtpAvp,
  parseSessionDescription,
  payloadTypesOf,
  type Direction,
  type Media,
  type SessionDescription,
} from './description.js';
import { readPreconditions, type Preconditions } from './preconditions.js';

/**
 * Where and how to send media to the other side, read from its offer or answer: what an RtpSession needs.
 */
export interface RemoteMedia {
  /** Index of the m-line in the description. */
  index: number;
  address: string;
  port: number;
  /** RFC 3605 a=rtcp if present, else port + 1 (RFC 3550 §11). */
  rtcpPort: number;
  rtcpAddress: string;
  /** The payload type of the first audio format we know (the peer's preferred one). */
  pt: number;
  codec: Codec;
  /** The telephone-event payload type with the codec's clock rate, if any (RFC 4733). */
  telephoneEvent?: number;
  /** The peer's direction, as written in its SDP. */
  direction: Direction;
  /** Every format of the m-line that we understand, in the peer's order. */
  formats: Codec[];
  preconditions?: Preconditions;
}

const ALL: readonly CodecName[] = DEFAULT_CODECS;

/** The formats of an m-line, with rtpmap and fmtp joined to each payload type. */
export function formatsOf(m: Media): OfferedFormat[] {
  return payloadTypesOf(m).map((pt) => {
    const map = m.rtp.find((r) => r.payload === pt);
    const fmtp = m.fmtp.find((f) => f.payload === pt);
    const f: OfferedFormat = { payloadType: pt };
    if (map) {
      // sdp-transform turns a numeric-looking encoding name ("a=rtpmap:8 0") into a number.
      f.encoding = String(map.codec);
      f.clockRate = map.rate;
      if (map.encoding !== undefined) f.channels = Number(map.encoding);
    }
    if (fmtp) f.fmtp = String(fmtp.config);
    return f;
  });
}

export function connectionAddress(session: SessionDescription, m: Media, index: number): string {
  const ip = m.connection?.ip ?? session.connection?.ip;
  if (!ip) throw new SdpError(`m= line ${index + 1} has no connection address`);
  return ip;
}

/** Reads the first active RTP audio stream of a description (offer or answer). */
export function parseRemoteMedia(sdp: string | SessionDescription, supported: readonly CodecName[] = ALL): RemoteMedia {
  const session = typeof sdp === 'string' ? parseSessionDescription(sdp) : sdp;
  const index = session.media.findIndex((m) => m.type === 'audio' && m.port !== 0 && isRtpAvp(m));
  if (index < 0) throw new SdpError('no active RTP audio stream');
  return remoteMediaAt(session, index, supported);
}

export function remoteMediaAt(session: SessionDescription, index: number, supported: readonly CodecName[]): RemoteMedia {
  const m = session.media[index]!;
  const formats = formatsOf(m)
    .map((f) => matchCodec(f, supported))
    .filter((c): c is Codec => c !== undefined);
  const codec = formats.find((c) => c.name !== 'telephone-event');
  if (!codec) throw new SdpError(`m= line ${index + 1} has no audio format we understand`);
  const address = connectionAddress(session, m, index);
  const te = formats.find((c) => c.name === 'telephone-event' && c.clockRate === codec.clockRate);
  const rtcpPort = typeof m.rtcp?.port === 'number' && m.rtcp.port > 0 && m.rtcp.port <= 65535 ? m.rtcp.port : m.port + 1;
  const r: RemoteMedia = {
    index,
    address,
    port: m.port,
    rtcpPort,
    rtcpAddress: m.rtcp?.address ?? address,
    pt: codec.payloadType,
    codec,
    direction: directionOf(session, m),
    formats,
  };
  if (te) r.telephoneEvent = te.payloadType;
  const pre = readPreconditions(m);
  if (pre) r.preconditions = pre;
  return r;
}
