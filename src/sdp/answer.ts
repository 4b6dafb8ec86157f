import type { Random } from '../util/random.js';
import { DEFAULT_CODECS, type Codec, type CodecName } from './codecs.js';
import {
  canReceive,
  canSend,
  directionFrom,
  directionOf,
  isRtpAvp,
  parseSessionDescription,
  type Direction,
} from './description.js';
import { nextVersion, writeSessionDescription, type AudioStream, type RejectedStream, type SdpOrigin } from './build.js';
import { answerPreconditionLines } from './preconditions.js';
import { remoteMediaAt, type RemoteMedia } from './remote.js';
import { SdpError } from './errors.js';
import { answerCrypto, cryptoAttributesByMedia, formatCryptoAttribute, isSecure } from './crypto.js';
import type { SrtpKeys, SrtpSuiteName } from '../rtp/srtp/suite.js';

/**
 * The answerer's side of RFC 3264 §6: accept the first audio stream whose offer contains a codec we support,
 * decline every other m-line with port 0, keep the m-line order, and mirror the offered direction.
 * Throws SdpError for a body that cannot be read (→ 400); returns ok: false for one that cannot be
 * accepted (→ 488 with a Warning, RFC 3261 §21.4.26 and §20.43).
 */
export interface AnswerOptions {
  address: string;
  port: number;
  /** Codecs this UE can use, in no particular order: the offerer's order decides (RFC 3264 §6.1). */
  codecs?: readonly CodecName[];
  /** What this UE is willing to do; the answer is the intersection with the mirrored offer. */
  direction?: Direction;
  /** Origin of our previous answer in this session: a re-answer keeps it and increments the version (§8). */
  origin?: SdpOrigin;
  /** The warn-agent of a Warning header (RFC 3261 §20.43): our host, by default the media address. */
  warnAgent?: string;
  /**
   * Take RTP/SAVP streams with SDES keys (RFC 4568 §7.1.2). Without it an RTP/SAVP stream is declined: a
   * UE that cannot do SRTP must not answer plain RTP to it (RFC 3264 §6: the answer keeps the transport).
   * `previous` is the keys of our earlier answer in this session: our key is kept if the suite is unchanged.
   */
  srtp?: boolean | { suites?: readonly SrtpSuiteName[]; previous?: SrtpKeys };
}

export interface AcceptedAnswer {
  ok: true;
  sdp: string;
  origin: SdpOrigin;
  chosen: Codec;
  telephoneEvent?: number;
  direction: Direction;
  /** Where to send media: the offerer's address, ports and formats. */
  remote: RemoteMedia;
  /** Whether the offer used QoS preconditions, so the UE knows to add Require: precondition handling. */
  preconditions: boolean;
  /** Set when the stream is SRTP: our key (in the answer) to send with, the offerer's to receive with. */
  srtp?: SrtpKeys;
}

export interface RejectedOffer {
  ok: false;
  status: 488;
  /** Value of the Warning header field, e.g. `305 127.0.10.2 "Incompatible media format"`. */
  warning: string;
  reason: string;
}

export type AnswerResult = AcceptedAnswer | RejectedOffer;

export function answerOffer(offerText: string, options: AnswerOptions, random: Random): AnswerResult {
  const session = parseSessionDescription(offerText);
  const supported = options.codecs ?? DEFAULT_CODECS;
  const local = options.direction ?? 'sendrecv';
  const streams: (AudioStream | RejectedStream)[] = [];
  let accepted: { remote: RemoteMedia; direction: Direction; codecs: Codec[]; srtp?: SrtpKeys } | undefined;
  let sawAudio = false;
  const srtp = options.srtp === true ? {} : options.srtp || undefined;
  const offeredCrypto = srtp ? cryptoAttributesByMedia(offerText) : [];
  // Why an SRTP stream was declined, for the Warning when nothing could be accepted (RFC 3261 §20.43).
  let srtpRefusal: { code: number; text: string; reason: string } | undefined;

  for (const [i, m] of session.media.entries()) {
    if (accepted || m.type !== 'audio' || !isRtpAvp(m) || m.port === 0) {
      streams.push({ kind: 'rejected', offered: m });
      continue;
    }
    sawAudio = true;
    let remote: RemoteMedia;
    try {
      remote = remoteMediaAt(session, i, supported);
    } catch (e) {
      // No format in common is a reason to decline this stream, not a malformed offer.
      if (e instanceof SdpError && /no audio format/.test(e.reason)) {
        streams.push({ kind: 'rejected', offered: m });
        continue;
      }
      throw e;
    }
    let cryptoLine: string | undefined;
    let keys: SrtpKeys | undefined;
    if (isSecure(m)) {
      if (!srtp) {
        srtpRefusal ??= { code: 302, text: 'Incompatible transport protocol', reason: `${m.protocol} offered and SRTP is not enabled` };
        streams.push({ kind: 'rejected', offered: m });
        continue;
      }
      const previous = srtp.previous ? { suite: srtp.previous.suite, master: srtp.previous.send } : undefined;
      const c = answerCrypto(offeredCrypto[i] ?? [], random, srtp.suites, previous);
      if (!c.ok) {
        // RFC 4568 §7.1.2: no usable crypto attribute → the stream is rejected.
        srtpRefusal ??= { code: 306, text: 'Attribute not understood', reason: c.reason };
        streams.push({ kind: 'rejected', offered: m });
        continue;
      }
      cryptoLine = formatCryptoAttribute(c.attribute);
      keys = c.keys;
    }
    const offered = directionOf(session, m);
    // RFC 3264 §6.1: a sendonly offer is answered recvonly, recvonly with sendonly, inactive with inactive.
    const direction = directionFrom(canReceive(offered) && canSend(local), canSend(offered) && canReceive(local));
    const codecs: Codec[] = [remote.codec];
    const te = remote.formats.find((c) => c.payloadType === remote.telephoneEvent);
    if (te) codecs.push(te);
    accepted = { remote, direction, codecs };
    if (keys) accepted.srtp = keys;
    const extra = [...(cryptoLine ? [cryptoLine] : []), ...(remote.preconditions ? answerPreconditionLines(remote.preconditions) : [])];
    streams.push({
      kind: 'audio',
      port: options.port,
      codecs,
      direction,
      ...(keys ? { protocol: m.protocol } : {}),
      extra: extra.length > 0 ? extra : undefined,
    });
  }

  if (!accepted) {
    // RFC 3261 §20.43: 304 when the media type is not available at all, 305 when none of its formats are.
    const agent = options.warnAgent ?? hostOf(options.address);
    if (srtpRefusal) return { ok: false, status: 488, warning: `${srtpRefusal.code} ${agent} "${srtpRefusal.text}"`, reason: srtpRefusal.reason };
    return sawAudio
      ? { ok: false, status: 488, warning: `305 ${agent} "Incompatible media format"`, reason: 'no common audio codec' }
      : { ok: false, status: 488, warning: `304 ${agent} "Media type not available"`, reason: 'no RTP audio stream offered' };
  }

  const origin: SdpOrigin = options.origin
    ? nextVersion(options.origin)
    : { username: '-', sessionId: String(1 + random.int(0x7fff_fffe)), sessionVersion: String(1 + random.int(0x7fff_fffe)) };
  const result: AcceptedAnswer = {
    ok: true,
    sdp: writeSessionDescription(origin, options.address, streams),
    origin,
    chosen: accepted.remote.codec,
    direction: accepted.direction,
    remote: accepted.remote,
    preconditions: accepted.remote.preconditions !== undefined,
  };
  if (accepted.remote.telephoneEvent !== undefined) result.telephoneEvent = accepted.remote.telephoneEvent;
  if (accepted.srtp) result.srtp = accepted.srtp;
  return result;
}

function hostOf(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
