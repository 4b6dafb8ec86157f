import { canReceive, canSend, directionOf, isRtpAvp, parseSessionDescription, type Direction } from './description.js';
import type { Codec } from './codecs.js';
import { SdpError } from './errors.js';
import type { LocalOffer } from './offer.js';
import { remoteMediaAt, type RemoteMedia } from './remote.js';
import { applyCryptoAnswer, cryptoAttributesByMedia, isSecure } from './crypto.js';
import type { SrtpKeys } from '../rtp/srtp/suite.js';

/**
 * The offerer receiving the answer (RFC 3264 §7): check it really answers our offer, then learn where to
 * send and in which format. A non-conforming answer is an SdpError: the UE cannot use it and should end the
 * session attempt (ACK then BYE, RFC 3261 §13.2.2.4) or treat the re-INVITE as failed.
 */
export interface AppliedAnswer {
  chosen: Codec;
  telephoneEvent?: number;
  /** The direction our side now has: what we offered, narrowed by what the answerer accepted. */
  direction: Direction;
  remote: RemoteMedia;
  /** Our offered key for the tag the answerer chose (to send) and the answerer's key (to receive). */
  srtp?: SrtpKeys;
}

export function applyAnswer(offer: LocalOffer, answerText: string): AppliedAnswer {
  const session = parseSessionDescription(answerText);
  // RFC 3264 §6: the answer has exactly as many m-lines as the offer, in the same order.
  if (session.media.length !== 1) {
    throw new SdpError(`answer has ${session.media.length} m= lines for an offer with 1`);
  }
  const m = session.media[0]!;
  if (m.type !== 'audio' || !isRtpAvp(m)) throw new SdpError(`answer m= line is ${m.type} ${m.protocol}, offer was audio RTP/AVP`);
  if (m.port === 0) throw new SdpError('the answerer declined the audio stream (port 0)');
  // RFC 3264 §6: the answer keeps the offered transport; RFC 4568 §7.1.3: an SRTP answer carries one a=crypto.
  if (isSecure(m) !== (offer.crypto !== undefined)) {
    throw new SdpError(`answer m= line is ${m.protocol}, offer was ${offer.crypto ? 'RTP/SAVP' : 'RTP/AVP'}`);
  }
  const srtp = offer.crypto ? applyCryptoAnswer(offer.crypto, cryptoAttributesByMedia(answerText)[0] ?? []) : undefined;
  const names = [...new Set(offer.codecs.map((c) => c.name))];
  const remote = remoteMediaAt(session, 0, names);
  // RFC 3264 §6.1: the answer's formats must be among the offered ones; the payload type numbers the
  // answerer sends with are its own, but the codec must be one we offered.
  if (!offer.codecs.some((c) => c.name === remote.codec.name && c.clockRate === remote.codec.clockRate)) {
    throw new SdpError(`answer chose ${remote.codec.name}/${remote.codec.clockRate}, which was not offered`);
  }
  const answered = directionOf(session, m);
  // RFC 3264 §6.1: the answer may only narrow the mirrored direction (e.g. sendonly → recvonly or inactive).
  if ((canSend(answered) && !canReceive(offer.direction)) || (canReceive(answered) && !canSend(offer.direction))) {
    throw new SdpError(`answer direction ${answered} does not fit offered ${offer.direction}`);
  }
  const direction: Direction =
    canReceive(answered) && canSend(offer.direction)
      ? canSend(answered) && canReceive(offer.direction)
        ? 'sendrecv'
        : 'sendonly'
      : canSend(answered) && canReceive(offer.direction)
        ? 'recvonly'
        : 'inactive';
  const r: AppliedAnswer = { chosen: remote.codec, direction, remote };
  if (remote.telephoneEvent !== undefined) r.telephoneEvent = remote.telephoneEvent;
  if (srtp) r.srtp = srtp;
  return r;
}
