import { timingSafeEqual } from 'node:crypto';
import { SrtpError } from './errors.js';
import { deriveKeys, type DerivedKeys } from './key-derivation.js';
import { ReplayWindow } from './replay-window.js';
import { srtpSuite, type SrtpMasterKey, type SrtpSuite, type SrtpSuiteName } from './suite.js';
import { protectRtcp, protectRtp, srtcpLayout, srtpLayout, unprotectRtcp, unprotectRtp } from './transform.js';

/**
 * The cryptographic context of one direction of an SRTP session (RFC 3711 §3.2): the session keys derived
 * from one master key, and per SSRC the rollover counter, highest sequence number and replay list (§3.2.1).
 * SDES gives each direction its own master key (RFC 4568 §6.1), so a UE has one context for what it sends
 * and one for what it receives:
 *
 *   const tx = new SrtpContext(ourKey, 'AES_CM_128_HMAC_SHA1_80');
 *   const rx = new SrtpContext(peerKey, 'AES_CM_128_HMAC_SHA1_80');
 *   socket.send(tx.protectRtp(rtpBytes));
 *   try { const rtp = rx.unprotectRtp(datagram); } catch (e) { if (e instanceof SrtpError) drop(e.failure); }
 *
 * A packet that fails changes no state: the ROC, s_l and the replay list move only after the tag checked
 * out (§3.3 step 6, §3.3.1).
 */
export interface SrtpContextOptions {
  /** Replay window in packets (§3.3.2: at least 64). */
  replayWindow?: number;
  /** At most this many SSRCs are tracked; the oldest is forgotten beyond it (one per peer is the norm). */
  maxSources?: number;
}

interface SendState {
  roc: number;
  lastSeq: number;
  srtcpIndex: number;
  packets: number;
}

interface ReceiveState {
  roc: number;
  /** s_l of §3.3.1: the highest sequence number authenticated in this ROC. */
  sl: number;
  rtpReplay: ReplayWindow;
  rtcpReplay: ReplayWindow;
}

const SEQ_HALF = 0x8000;
const MAX_ROC = 0xffff_ffff;

export class SrtpContext {
  readonly suite: SrtpSuite;
  private readonly keys: DerivedKeys;
  private readonly mki: Buffer | undefined;
  private readonly sending = new Map<number, SendState>();
  private readonly receiving = new Map<number, ReceiveState>();
  private readonly windowSize: number;
  private readonly maxSources: number;

  constructor(
    readonly master: SrtpMasterKey,
    suite: SrtpSuiteName | SrtpSuite,
    options: SrtpContextOptions = {},
  ) {
    const s = typeof suite === 'string' ? srtpSuite(suite) : suite;
    if (!s) throw new RangeError(`unsupported SRTP crypto suite ${String(suite)}`);
    this.suite = s;
    this.keys = deriveKeys(master, s);
    if (master.mki && (master.mki.length < 1 || master.mki.length > 128)) throw new RangeError('MKI must be 1-128 octets (RFC 4568 §6.1)');
    this.mki = master.mki;
    this.windowSize = options.replayWindow ?? 64;
    this.maxSources = options.maxSources ?? 16;
    // Fail on a bad window size now rather than on the first packet.
    new ReplayWindow(this.windowSize);
  }

  /** RTP → SRTP. The ROC goes up when the sequence number wraps (§3.3.1). */
  protectRtp(packet: Buffer): Buffer {
    if (packet.length < 12) throw new SrtpError('malformed', `${packet.length} octets, RTP header needs 12`);
    const ssrc = packet.readUInt32BE(8);
    const seq = packet.readUInt16BE(2);
    const state = this.sendState(ssrc, seq);
    if (seq < state.lastSeq && state.lastSeq - seq > SEQ_HALF) {
      if (state.roc === MAX_ROC) throw new SrtpError('key-exhausted', 'the rollover counter is exhausted (RFC 3711 §3.3.1)');
      state.roc++;
    }
    state.lastSeq = seq;
    if (++state.packets > this.suite.maxSrtpPackets) throw new SrtpError('key-exhausted', `more than 2^48 SRTP packets under one master key`);
    return protectRtp(this.keys.rtp, this.suite, packet, state.roc * 0x1_0000 + seq, this.mki);
  }

  /** SRTP → RTP, or SrtpError: malformed, unknown-key (MKI), replayed, authentication. */
  unprotectRtp(packet: Buffer): Buffer {
    const layout = srtpLayout(packet, this.suite, this.mki?.length ?? 0);
    this.checkMki(layout.mki);
    const state = this.receiving.get(layout.ssrc);
    const seq = layout.sequenceNumber;
    // §3.3.1 / Appendix A: the ROC guess v that puts SEQ closest to s_l.
    let v = 0;
    // A source heard so far only on SRTCP has no s_l yet (sl = -1): its first RTP packet starts it.
    if (state && state.sl >= 0) {
      v = state.roc;
      if (state.sl < SEQ_HALF) {
        if (seq - state.sl > SEQ_HALF) v = state.roc - 1;
      } else if (state.sl - SEQ_HALF > seq) v = state.roc + 1;
    }
    const index = v * 0x1_0000 + seq;
    if (v < 0 || v > MAX_ROC || (state && !state.rtpReplay.isNew(index))) {
      throw new SrtpError('replayed', `SRTP index ${index} of SSRC ${layout.ssrc} is replayed or too old (RFC 3711 §3.3.2)`);
    }
    const rtp = unprotectRtp(this.keys.rtp, this.suite, layout, index);
    // Only an authenticated packet may create or move the state (§3.3 step 6).
    const s = state ?? this.newReceiveState(layout.ssrc, seq);
    if (v === s.roc + 1) {
      s.roc = v;
      s.sl = seq;
    } else if (v === s.roc && seq > s.sl) s.sl = seq;
    s.rtpReplay.accept(index);
    return rtp;
  }

  /** RTCP compound → SRTCP, encrypted (E = 1), with the next SRTCP index of the sender SSRC (§3.4). */
  protectRtcp(packet: Buffer): Buffer {
    if (packet.length < 8) throw new SrtpError('malformed', `${packet.length} octets, RTCP needs 8`);
    const ssrc = packet.readUInt32BE(4);
    const state = this.sendState(ssrc, 0);
    if (state.srtcpIndex >= this.suite.maxSrtcpPackets) throw new SrtpError('key-exhausted', 'the 31-bit SRTCP index is exhausted (RFC 3711 §3.4)');
    return protectRtcp(this.keys.rtcp, this.suite, packet, state.srtcpIndex++, this.mki);
  }

  /** SRTCP → RTCP compound, or SrtpError. */
  unprotectRtcp(packet: Buffer): Buffer {
    const layout = srtcpLayout(packet, this.suite, this.mki?.length ?? 0);
    this.checkMki(layout.mki);
    const state = this.receiving.get(layout.ssrc);
    if (state && !state.rtcpReplay.isNew(layout.index)) {
      throw new SrtpError('replayed', `SRTCP index ${layout.index} of SSRC ${layout.ssrc} is replayed or too old (RFC 3711 §3.4)`);
    }
    const rtcp = unprotectRtcp(this.keys.rtcp, this.suite, layout);
    (state ?? this.newReceiveState(layout.ssrc, undefined)).rtcpReplay.accept(layout.index);
    return rtcp;
  }

  /** The rollover counter kept for a source we receive, for tests and traces. */
  receiveRoc(ssrc: number): number | undefined {
    return this.receiving.get(ssrc)?.roc;
  }

  private checkMki(mki: Buffer): void {
    if (this.mki && !timingSafeEqual(mki, this.mki)) throw new SrtpError('unknown-key', `MKI ${mki.toString('hex')} names no key of this context`);
  }

  private sendState(ssrc: number, seq: number): SendState {
    let s = this.sending.get(ssrc);
    if (!s) {
      s = { roc: 0, lastSeq: seq, srtcpIndex: 0, packets: 0 };
      remember(this.sending, ssrc, s, this.maxSources);
    }
    return s;
  }

  private newReceiveState(ssrc: number, seq: number | undefined): ReceiveState {
    // §3.3.1: the receiver's s_l starts at the first sequence number it authenticates, with ROC 0.
    const s: ReceiveState = { roc: 0, sl: seq ?? 0, rtpReplay: new ReplayWindow(this.windowSize), rtcpReplay: new ReplayWindow(this.windowSize) };
    if (seq === undefined) s.sl = -1;
    remember(this.receiving, ssrc, s, this.maxSources);
    return s;
  }
}

function remember<T>(map: Map<number, T>, key: number, value: T, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** Two master keys are the same key (a re-offer that kept its a=crypto, RFC 4568 §7.1.4). */
export function sameMasterKey(a: SrtpMasterKey, b: SrtpMasterKey): boolean {
  return a.key.equals(b.key) && a.salt.equals(b.salt) && (a.mki?.toString('hex') ?? '') === (b.mki?.toString('hex') ?? '');
}
