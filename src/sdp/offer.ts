import type { Random } from '../util/random.js';
import { assignPayloadTypes, DEFAULT_CODECS, type Codec, type CodecName } from './codecs.js';
import type { Direction } from './description.js';
import { nextVersion, writeSessionDescription, type SdpOrigin } from './build.js';
import { offerPreconditionLines } from './preconditions.js';
import { formatCryptoAttribute, offerCryptoAttributes, type CryptoAttribute } from './crypto.js';
import type { SrtpSuiteName } from '../rtp/srtp/suite.js';

/**
 * The offerer's side of RFC 3264 §5: one audio stream, codecs in preference order, and the re-offers a UE
 * makes during a call (hold and resume, §8.4).
 */
export interface OfferOptions {
  /** The UE's media address, also the o= and c= address. */
  address: string;
  /** The RTP port (even, RFC 3550 §11); RTCP is port + 1. */
  port: number;
  codecs?: readonly CodecName[];
  direction?: Direction;
  /** Add the RFC 3312 QoS precondition lines (TS 24.229 §6.1.2). */
  preconditions?: boolean;
  /** Offer SRTP: RTP/SAVP with one a=crypto line per suite, keys from the Random (RFC 4568 §5.1). */
  srtp?: boolean | { suites?: readonly SrtpSuiteName[] };
}

export interface LocalOffer {
  sdp: string;
  origin: SdpOrigin;
  address: string;
  port: number;
  /** The formats offered, with the payload type numbers used in this offer. */
  codecs: readonly Codec[];
  direction: Direction;
  /** The direction the stream has when not on hold, restored by resumeOffer. */
  activeDirection: Direction;
  preconditions: boolean;
  /** The a=crypto lines offered, with our keys; kept by hold and resume re-offers (RFC 4568 §7.1.4). */
  crypto?: readonly CryptoAttribute[];
}

export function createOffer(options: OfferOptions, random: Random): LocalOffer {
  const direction = options.direction ?? 'sendrecv';
  const origin: SdpOrigin = {
    username: '-',
    // RFC 4566 §5.2 suggests an NTP timestamp; a random number keeps seeded runs reproducible.
    sessionId: String(1 + random.int(0x7fff_fffe)),
    sessionVersion: String(1 + random.int(0x7fff_fffe)),
  };
  const offer: Omit<LocalOffer, 'sdp'> = {
    origin,
    address: options.address,
    port: options.port,
    codecs: assignPayloadTypes(options.codecs ?? DEFAULT_CODECS),
    direction,
    activeDirection: direction,
    preconditions: options.preconditions ?? false,
  };
  if (options.srtp) {
    const suites = typeof options.srtp === 'object' ? options.srtp.suites : undefined;
    offer.crypto = offerCryptoAttributes(suites, random);
  }
  return render(offer);
}

/**
 * RFC 3264 §8.4: put the stream on hold. A stream that was sendrecv becomes sendonly, one that was recvonly
 * becomes inactive; everything else stays the same but the o= version, which goes up by one (§8).
 */
export function holdOffer(previous: LocalOffer): LocalOffer {
  const direction: Direction =
    previous.activeDirection === 'sendrecv' || previous.activeDirection === 'sendonly' ? 'sendonly' : 'inactive';
  return render({ ...previous, direction, origin: nextVersion(previous.origin) });
}

/** RFC 3264 §8.4: take the stream off hold, back to the direction it had before. */
export function resumeOffer(previous: LocalOffer): LocalOffer {
  return render({ ...previous, direction: previous.activeDirection, origin: nextVersion(previous.origin) });
}

function render(o: Omit<LocalOffer, 'sdp'>): LocalOffer {
  const sdp = writeSessionDescription(o.origin, o.address, [
    {
      kind: 'audio',
      port: o.port,
      codecs: o.codecs,
      direction: o.direction,
      ...(o.crypto ? { protocol: 'RTP/SAVP' } : {}),
      extra: extraLines(o),
    },
  ]);
  return { ...o, sdp };
}

function extraLines(o: Omit<LocalOffer, 'sdp'>): string[] | undefined {
  const lines = [...(o.crypto?.map(formatCryptoAttribute) ?? []), ...(o.preconditions ? offerPreconditionLines() : [])];
  return lines.length > 0 ? lines : undefined;
}
