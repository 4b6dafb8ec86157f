import { createSocket, type Socket } from 'node:dgram';
import { Subject, type Observable } from 'rxjs';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { TraceBus, Endpoint } from '../trace/events.js';
import type { Codec } from '../sdp/codecs.js';
import type { Direction } from '../sdp/description.js';
import { decodeRtp, encodeRtp, RtpDecodeError } from './packet.js';
import {
  decodeRtcpCompound,
  encodeRtcpCompound,
  ntpFromUnixMs,
  ntpMiddle32,
  RtcpDecodeError,
  type ReportBlock,
  type RtcpPacket,
} from './rtcp.js';
import { ReceptionStatistics, type ReceptionSnapshot } from './statistics.js';
import { createPayloadSource, type PayloadSource } from './frames.js';
import { decodeTelephoneEvent, digitOfEvent, encodeTelephoneEvent, eventOfDigit } from './dtmf.js';
import { FRAME_MS } from './g711.js';
import type { PortAllocator } from './ports.js';
import type { LinkImpairment } from '../sip/transport/impairment.js';
import { SrtpContext, SrtpError, sameMasterKey, type SrtpKeys } from './srtp/index.js';

/**
 * One media stream of a simulated UE: an RTP socket on an even port and an RTCP socket on the next one
 * (RFC 3550 §11), both on the UE's own loopback address, sending 20 ms packets paced on the injected Clock
 * and keeping the receiver statistics of RFC 3550 §6.4.1.
 *
 *   const s = await RtpSession.open({ node: 'alice', address: '127.0.10.1', ports, clock, random, bus });
 *   // put s.local.rtpPort in the SDP offer/answer, then with the peer's media (sdp RemoteMedia fits):
 *   s.start({ address, port, rtcpPort, codec, telephoneEvent });
 *   await s.sendDtmf('5');  s.dtmf$.subscribe(d => …);  s.setDirection('sendonly');  // hold
 *   const stats = await s.stop();   // RTCP BYE, sockets closed, statistics as a trace note
 *
 * Modes: 'tone' sends a G.711 sine (silence frames for AMR-WB/opus), 'echo' returns every audio payload it
 * receives (answering UEs of `imslab serve`), 'silent' sends no RTP (RTCP only).
 * Anything that is not RTP/RTCP from the negotiated peer is counted as `unexpected` and dropped.
 *
 * SRTP (RFC 3711) when the SDP negotiated RTP/SAVP (RFC 4568): `srtp` keys in the options or, as a UE learns
 * them from the answer, in the peer given to start(). RTP and RTCP are then protected on the wire (the trace
 * carries the protected bytes, as a capture would), and packets that fail authentication or are replayed are
 * counted (`srtpAuthFailures`, `srtpReplayed`) and dropped.
 */
export type MediaMode = 'tone' | 'echo' | 'silent';

export interface RtpSessionOptions {
  /** Name of the UE on the trace. */
  node: string;
  /** The UE's loopback address (IPv4 or IPv6). */
  address: string;
  ports: PortAllocator;
  clock: Clock;
  random: Random;
  bus: TraceBus;
  mode?: MediaMode;
  toneHz?: number;
  /** SDES CNAME (RFC 3550 §6.5.1); default `node@address`. */
  cname?: string;
  /** Nominal RTCP interval; RFC 3550 §6.2 recommends 5 s minimum. */
  rtcpIntervalMs?: number;
  /**
   * The UE's link (its SIP transport's LinkImpairment): RTP packets share its loss, delay and reordering, so
   * the peer's reception statistics show what a bad radio link does to media (RFC 3550 §6.4.1, issue 8).
   */
  impairment?: LinkImpairment;
  /** SRTP keys for the session; a peer's own `srtp` (given to start) takes precedence. */
  srtp?: SrtpKeys;
}

/** The peer as negotiated in SDP (an sdp RemoteMedia is accepted as is). */
export interface RtpPeer {
  address: string;
  port: number;
  rtcpAddress?: string;
  rtcpPort?: number;
  /** The format to send, with the payload type number the peer expects. */
  codec: Codec;
  telephoneEvent?: number;
  /** Our direction (what we do), default sendrecv. */
  localDirection?: Direction;
  /** Further payload type numbers the peer may send with (the offerer's own numbering). */
  receivePayloadTypes?: readonly number[];
  /** SRTP keys negotiated with this peer (sdp AcceptedAnswer.srtp / AppliedAnswer.srtp). */
  srtp?: SrtpKeys;
}

export interface ReceivedDigit {
  digit: string;
  /** Duration carried by the end packet, in ms. */
  durationMs: number;
  timestamp: number;
}

export interface RtpSessionStatistics extends ReceptionSnapshot {
  ssrc: number;
  remoteSsrc?: number;
  sent: number;
  sentOctets: number;
  rtcpSent: number;
  rtcpReceived: number;
  /** Datagrams dropped: wrong source address/port or SSRC, unknown payload type, or not RTP/RTCP at all. */
  unexpected: number;
  /** Of those, the ones that did not decode. */
  malformed: number;
  digits: string;
  remoteBye: boolean;
  /** The SRTP suite in use, if the stream is protected. */
  srtp?: string;
  /** SRTP/SRTCP packets from the peer whose authentication tag (or MKI) did not check out (RFC 3711 §3.3 step 5). */
  srtpAuthFailures: number;
  /** SRTP/SRTCP packets dropped by the replay list (RFC 3711 §3.3.2). */
  srtpReplayed: number;
}

/** RFC 3550 §6.3.1: the randomised interval is divided by e − 3/2 to compensate for timer reconsideration. */
const RTCP_COMPENSATION = Math.E - 1.5;
const DTMF_VOLUME = 10;
const DTMF_END_REPEATS = 3;

interface DtmfJob {
  event: number;
  durationUnits: number;
  resolve: () => void;
  reject: (e: Error) => void;
  startTs?: number;
  sentDuration: number;
  endsSent: number;
}

export class RtpSession {
  readonly ssrc: number;
  readonly local: { address: string; rtpPort: number; rtcpPort: number };
  private readonly dtmfSubject = new Subject<ReceivedDigit>();
  readonly dtmf$: Observable<ReceivedDigit> = this.dtmfSubject.asObservable();

  private peer: RtpPeer | undefined;
  private direction: Direction = 'sendrecv';
  private source: PayloadSource | undefined;
  private receiveTypes = new Set<number>();
  private stats: ReceptionStatistics | undefined;
  private remoteSsrc: number | undefined;

  private seq: number;
  private timestamp: number;
  private marker = true;
  private sent = 0;
  private sentOctets = 0;
  private rtcpSent = 0;
  private rtcpReceived = 0;
  private unexpected = 0;
  private malformed = 0;
  private digits = '';
  private remoteBye = false;
  private lastSrMiddle = 0;
  private lastSrArrival = 0;
  private lastSentAt = 0;
  private lastSentTs = 0;
  private echoBase: { remote: number; local: number } | undefined;
  private lastEndedEventTs: number | undefined;
  private srtpKeys: SrtpKeys | undefined;
  private srtpSend: SrtpContext | undefined;
  private srtpReceive: SrtpContext | undefined;
  private srtpAuthFailures = 0;
  private srtpReplayed = 0;

  private startedAt = 0;
  private ticks = 0;
  private tickTimer: TimerHandle | undefined;
  private rtcpTimer: TimerHandle | undefined;
  private dtmfQueue: DtmfJob[] = [];
  private stopped = false;
  private readonly mode: MediaMode;
  private readonly localRtp: Endpoint;
  private readonly localRtcp: Endpoint;

  private constructor(
    private readonly options: RtpSessionOptions,
    private readonly rtpSocket: Socket,
    private readonly rtcpSocket: Socket,
    rtpPort: number,
  ) {
    const r = options.random;
    // RFC 3550 §5.1 / §8: random initial sequence number, timestamp and SSRC.
    this.ssrc = r.bytes(4).readUInt32BE(0);
    this.seq = r.int(0x1_0000);
    this.timestamp = r.bytes(4).readUInt32BE(0);
    this.mode = options.mode ?? 'tone';
    this.local = { address: options.address, rtpPort, rtcpPort: rtpPort + 1 };
    this.localRtp = { address: options.address, port: rtpPort };
    this.localRtcp = { address: options.address, port: rtpPort + 1 };
    rtpSocket.on('message', (msg, rinfo) => this.safely(() => this.onRtp(msg, rinfo.address, rinfo.port)));
    rtcpSocket.on('message', (msg, rinfo) => this.safely(() => this.onRtcp(msg, rinfo.address, rinfo.port)));
    // A send error (e.g. ICMP unreachable reported on Linux) must not crash the UE.
    const onError = (e: Error) => this.note('warn', `RTP socket error: ${e.message}`);
    rtpSocket.on('error', onError);
    rtcpSocket.on('error', onError);
    this.scheduleRtcp(true);
  }

  /** Binds the RTP/RTCP socket pair on the next free port pair of the UE's range. */
  static async open(options: RtpSessionOptions): Promise<RtpSession> {
    const attempts = Math.min(options.ports.capacity, 64);
    let lastError: unknown;
    for (let i = 0; i < attempts; i++) {
      const port = options.ports.allocate();
      const type = options.address.includes(':') ? 'udp6' : 'udp4';
      const rtp = createSocket({ type });
      const rtcp = createSocket({ type });
      try {
        await bind(rtp, options.address, port);
        await bind(rtcp, options.address, port + 1);
        return new RtpSession(options, rtp, rtcp, port);
      } catch (e) {
        lastError = e;
        rtp.close();
        rtcp.close();
        options.ports.release(port);
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
      }
    }
    throw new Error(`cannot bind an RTP/RTCP port pair on ${options.address}: ${(lastError as Error)?.message}`);
  }

  /** Starts (or re-targets, after a re-INVITE) the stream towards the negotiated peer. */
  start(peer: RtpPeer): void {
    if (this.stopped) throw new Error('RTP session already stopped');
    const first = this.peer === undefined;
    this.peer = peer;
    this.direction = peer.localDirection ?? 'sendrecv';
    if (!this.stats || this.stats.clockRate !== peer.codec.clockRate) this.stats = new ReceptionStatistics(peer.codec.clockRate);
    this.receiveTypes = new Set([peer.codec.payloadType, ...(peer.receivePayloadTypes ?? [])]);
    this.useSrtp(peer.srtp ?? this.options.srtp);
    if (this.mode === 'tone') this.source = createPayloadSource(peer.codec, this.options.toneHz ?? 440);
    if (first) {
      this.startedAt = this.options.clock.now();
      this.ticks = 0;
      this.scheduleTick();
    }
  }

  /** RFC 3264 §8.4 hold/resume: what we send follows our direction; a new talkspurt sets the marker. */
  setDirection(direction: Direction): void {
    if (direction !== this.direction && (direction === 'sendrecv' || direction === 'sendonly')) this.marker = true;
    this.direction = direction;
  }

  /**
   * Sends one digit as RFC 4733 events (§2.5.1): a first packet with the marker bit, an update every 20 ms
   * with the growing duration, and the final packet with the E bit sent three times (§2.5.1.4). Audio is
   * suppressed meanwhile. Resolves when the last end packet is sent.
   */
  sendDtmf(digit: string, durationMs = 100): Promise<void> {
    const event = eventOfDigit(digit);
    if (!this.peer || this.peer.telephoneEvent === undefined) {
      return Promise.reject(new Error('telephone-event was not negotiated for this stream'));
    }
    if (!(durationMs > 0) || durationMs > 5000) return Promise.reject(new RangeError('DTMF duration must be 1-5000 ms'));
    const units = Math.max(1, Math.round((durationMs * this.peer.codec.clockRate) / 1000));
    return new Promise((resolve, reject) => {
      this.dtmfQueue.push({ event, durationUnits: units, resolve, reject, sentDuration: 0, endsSent: 0 });
    });
  }

  statistics(): RtpSessionStatistics {
    const snap: ReceptionSnapshot = this.stats?.snapshot() ?? {
      received: 0,
      expected: 0,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
      extendedHighestSequence: 0,
      jitter: 0,
      jitterMs: 0,
    };
    const s: RtpSessionStatistics = {
      ...snap,
      ssrc: this.ssrc,
      sent: this.sent,
      sentOctets: this.sentOctets,
      rtcpSent: this.rtcpSent,
      rtcpReceived: this.rtcpReceived,
      unexpected: this.unexpected,
      malformed: this.malformed,
      digits: this.digits,
      remoteBye: this.remoteBye,
      srtpAuthFailures: this.srtpAuthFailures,
      srtpReplayed: this.srtpReplayed,
    };
    if (this.remoteSsrc !== undefined) s.remoteSsrc = this.remoteSsrc;
    if (this.srtpKeys) s.srtp = this.srtpKeys.suite;
    return s;
  }

  /** Sends RTCP BYE (RFC 3550 §6.6), closes both sockets and timers, and puts the statistics on the trace. */
  async stop(reason = 'session ended'): Promise<RtpSessionStatistics> {
    if (this.stopped) return this.statistics();
    this.stopped = true;
    this.tickTimer?.cancel();
    this.rtcpTimer?.cancel();
    for (const job of this.dtmfQueue) job.reject(new Error('RTP session stopped'));
    this.dtmfQueue = [];
    if (this.peer) {
      const bye: RtcpPacket = { type: 'bye', ssrcs: [this.ssrc], reason };
      await this.sendRtcp([...this.report(), bye]);
    }
    await Promise.all([closeSocket(this.rtpSocket), closeSocket(this.rtcpSocket)]);
    this.options.ports.release(this.local.rtpPort);
    const s = this.statistics();
    this.options.bus.note({
      node: this.options.node,
      level: 'info',
      text:
        `RTP stream ${hex(this.ssrc)} ${this.local.address}:${this.local.rtpPort} stopped: sent ${s.sent}, ` +
        `received ${s.received}, lost ${s.lost}, duplicates ${s.duplicates}, jitter ${s.jitterMs.toFixed(2)} ms, ` +
        `unexpected ${s.unexpected}` +
        (s.srtp ? `, ${s.srtp}: ${s.srtpAuthFailures} authentication failures, ${s.srtpReplayed} replayed` : ''),
      clause: 'RFC 3550 §6.4.1',
      data: {
        ssrc: s.ssrc,
        sent: s.sent,
        received: s.received,
        expected: s.expected,
        lost: s.lost,
        duplicates: s.duplicates,
        outOfOrder: s.outOfOrder,
        jitterMs: s.jitterMs,
        unexpected: s.unexpected,
        remoteSsrc: s.remoteSsrc,
        digits: s.digits,
        ...(s.srtp ? { srtp: s.srtp, srtpAuthFailures: s.srtpAuthFailures, srtpReplayed: s.srtpReplayed } : {}),
      },
    });
    this.dtmfSubject.complete();
    return s;
  }

  // ---------------------------------------------------------------- sending

  private get samplesPerFrame(): number {
    return ((this.peer?.codec.clockRate ?? 8000) * FRAME_MS) / 1000;
  }

  /** Ticks are due at start + n·20 ms, so timer lateness does not accumulate into drift. */
  private scheduleTick(): void {
    if (this.stopped) return;
    this.ticks++;
    const due = this.startedAt + this.ticks * FRAME_MS;
    this.tickTimer = this.options.clock.setTimeout(() => this.safely(() => this.tick()), Math.max(0, due - this.options.clock.now()));
  }

  private tick(): void {
    if (this.stopped || !this.peer) return;
    // Scheduled first, so that a fault in this frame cannot end the stream.
    this.scheduleTick();
    // One frame of sampling time has passed whether or not anything is sent (RFC 3550 §5.1).
    const ts = this.timestamp;
    this.timestamp = (this.timestamp + this.samplesPerFrame) >>> 0;
    const sending = this.direction === 'sendrecv' || this.direction === 'sendonly';
    if (sending && this.dtmfQueue.length > 0) {
      this.dtmfTick(ts);
    } else if (sending && this.mode === 'tone' && this.source) {
      this.sendRtpPacket(this.peer.codec.payloadType, this.source.next(), ts);
    }
  }

  private dtmfTick(ts: number): void {
    const job = this.dtmfQueue[0]!;
    const pt = this.peer!.telephoneEvent!;
    let first = false;
    if (job.startTs === undefined) {
      job.startTs = ts;
      first = true;
    }
    if (job.sentDuration < job.durationUnits) {
      job.sentDuration = Math.min(job.durationUnits, job.sentDuration + this.samplesPerFrame);
    }
    const end = job.sentDuration >= job.durationUnits;
    const payload = encodeTelephoneEvent({ event: job.event, end, volume: DTMF_VOLUME, duration: job.sentDuration });
    // §2.5.1.2: the event timestamp is its start; §2.5.1.1: the first packet of an event carries the marker.
    this.sendRtpPacket(pt, payload, job.startTs, first);
    if (end && ++job.endsSent >= DTMF_END_REPEATS) {
      this.dtmfQueue.shift();
      // The next audio packet starts a new talkspurt.
      this.marker = true;
      job.resolve();
    }
  }

  private sendRtpPacket(pt: number, payload: Buffer, ts: number, marker?: boolean): void {
    const peer = this.peer!;
    const m = marker ?? this.marker;
    if (marker === undefined) this.marker = false;
    const plain = encodeRtp({ marker: m, payloadType: pt, sequenceNumber: this.seq, timestamp: ts, ssrc: this.ssrc, payload });
    // RFC 3711 §3.3: protected once, here, so a retransmitting link (impairment) repeats the same SRTP packet.
    const bytes = this.srtpSend ? this.srtpSend.protectRtp(plain) : plain;
    this.seq = (this.seq + 1) & 0xffff;
    this.sent++;
    this.sentOctets += payload.length;
    this.lastSentAt = this.options.clock.now();
    this.lastSentTs = ts;
    const to = { address: peer.address, port: peer.port };
    const write = () => {
      this.emit('send', 'rtp', this.localRtp, to, bytes);
      this.rtpSocket.send(bytes, to.port, to.address);
    };
    const link = this.options.impairment;
    // A packet the link swallows counts as sent (the sender did send it) and never appears on the wire.
    if (!link?.active) write();
    else link.datagram(to, () => !this.stopped && write(), () => undefined);
  }

  // ---------------------------------------------------------------- receiving

  private onRtp(msg: Buffer, address: string, port: number): void {
    const remote = { address, port };
    this.emit('recv', 'rtp', this.localRtp, remote, msg);
    const peer = this.peer;
    if (this.stopped || !peer || !this.stats || address !== peer.address || port !== peer.port) {
      this.unexpected++;
      return;
    }
    const clear = this.srtpReceive ? this.unprotect(msg, 'rtp') : msg;
    if (!clear) return;
    let p;
    try {
      p = decodeRtp(clear);
    } catch (e) {
      if (!(e instanceof RtpDecodeError)) throw e;
      this.unexpected++;
      this.malformed++;
      return;
    }
    const isEvent = peer.telephoneEvent !== undefined && p.payloadType === peer.telephoneEvent;
    if (!isEvent && !this.receiveTypes.has(p.payloadType)) {
      this.unexpected++;
      return;
    }
    // Latch on the first SSRC heard from the negotiated address; other sources are someone else's stream.
    if (this.remoteSsrc === undefined) this.remoteSsrc = p.ssrc;
    else if (p.ssrc !== this.remoteSsrc) {
      this.unexpected++;
      return;
    }
    const verdict = this.stats.update(p.sequenceNumber, p.timestamp, this.options.clock.now(), !isEvent);
    if (verdict === 'duplicate' || verdict === 'bad-sequence') return;
    if (isEvent) this.onTelephoneEvent(p.payload, p.timestamp);
    else if (this.mode === 'echo' && (this.direction === 'sendrecv' || this.direction === 'sendonly')) {
      // Keep the far end's spacing of timestamps on our own timestamp base.
      if (!this.echoBase) this.echoBase = { remote: p.timestamp, local: this.timestamp };
      const ts = (this.echoBase.local + (p.timestamp - this.echoBase.remote)) >>> 0;
      this.sendRtpPacket(peer.codec.payloadType, Buffer.from(p.payload), ts);
    }
  }

  /** RFC 4733 §2.5.2: report a digit once, on its first end packet (the repeats carry the same timestamp). */
  private onTelephoneEvent(payload: Buffer, timestamp: number): void {
    const e = decodeTelephoneEvent(payload);
    if (!e || !e.end || this.lastEndedEventTs === timestamp) return;
    const digit = digitOfEvent(e.event);
    this.lastEndedEventTs = timestamp;
    if (digit === undefined) return;
    this.digits += digit;
    this.dtmfSubject.next({ digit, durationMs: (e.duration * 1000) / this.peer!.codec.clockRate, timestamp });
  }

  private onRtcp(msg: Buffer, address: string, port: number): void {
    this.emit('recv', 'rtcp', this.localRtcp, { address, port }, msg);
    const peer = this.peer;
    if (this.stopped || !peer || address !== (peer.rtcpAddress ?? peer.address) || port !== (peer.rtcpPort ?? peer.port + 1)) {
      this.unexpected++;
      return;
    }
    const clear = this.srtpReceive ? this.unprotect(msg, 'rtcp') : msg;
    if (!clear) return;
    let packets: RtcpPacket[];
    try {
      packets = decodeRtcpCompound(clear);
    } catch (e) {
      if (!(e instanceof RtcpDecodeError)) throw e;
      this.unexpected++;
      this.malformed++;
      return;
    }
    this.rtcpReceived++;
    for (const p of packets) {
      if (p.type === 'sr' && (this.remoteSsrc === undefined || p.ssrc === this.remoteSsrc)) {
        this.lastSrMiddle = ntpMiddle32(p.ntpSeconds, p.ntpFraction);
        this.lastSrArrival = this.options.clock.now();
      } else if (p.type === 'bye' && this.remoteSsrc !== undefined && p.ssrcs.includes(this.remoteSsrc)) {
        this.remoteBye = true;
      }
    }
  }

  // ---------------------------------------------------------------- RTCP

  /** RFC 3550 §6.2/§6.3.1: interval × U[0.5, 1.5] / (e − 3/2), the first one at half the minimum. */
  private scheduleRtcp(initial: boolean): void {
    const base = (this.options.rtcpIntervalMs ?? 5000) * (initial ? 0.5 : 1);
    const interval = (base * (0.5 + this.options.random.float())) / RTCP_COMPENSATION;
    this.rtcpTimer = this.options.clock.setTimeout(
      () =>
        this.safely(() => {
          if (this.stopped) return;
          if (this.peer) void this.sendRtcp(this.report());
          this.scheduleRtcp(false);
        }),
      interval,
    );
  }

  /** SR if we sent RTP since the last report, else RR (§6.4); with a report block once we hear the peer; SDES CNAME (§6.1). */
  private report(): RtcpPacket[] {
    const now = this.options.clock.now();
    const blocks: ReportBlock[] = [];
    if (this.stats?.hasData && this.remoteSsrc !== undefined) {
      const dlsr = this.lastSrArrival ? Math.round(((now - this.lastSrArrival) / 1000) * 65536) : 0;
      blocks.push(this.stats.reportBlock(this.remoteSsrc, this.lastSrMiddle, dlsr));
    }
    const sdes: RtcpPacket = { type: 'sdes', chunks: [{ ssrc: this.ssrc, cname: this.options.cname ?? `${this.options.node}@${this.options.address}` }] };
    if (this.sent > 0) {
      const ntp = ntpFromUnixMs(now);
      // §6.4.1: the RTP timestamp of the same instant as the NTP one, extrapolated from the last packet sent.
      const rate = this.peer?.codec.clockRate ?? 8000;
      const rtpTimestamp = (this.lastSentTs + Math.round(((now - this.lastSentAt) * rate) / 1000)) >>> 0;
      return [
        { type: 'sr', ssrc: this.ssrc, ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp, packetCount: this.sent, octetCount: this.sentOctets, reports: blocks },
        sdes,
      ];
    }
    return [{ type: 'rr', ssrc: this.ssrc, reports: blocks }, sdes];
  }

  private sendRtcp(packets: RtcpPacket[]): Promise<void> {
    const peer = this.peer!;
    const plain = encodeRtcpCompound(packets);
    const bytes = this.srtpSend ? this.srtpSend.protectRtcp(plain) : plain;
    const remote = { address: peer.rtcpAddress ?? peer.address, port: peer.rtcpPort ?? peer.port + 1 };
    this.rtcpSent++;
    this.emit('send', 'rtcp', this.localRtcp, remote, bytes);
    return new Promise((resolve) => this.rtcpSocket.send(bytes, remote.port, remote.address, () => resolve()));
  }

  // ---------------------------------------------------------------- SRTP

  /**
   * Contexts for the negotiated keys. The same keys again (a re-INVITE that kept its a=crypto, RFC 4568
   * §7.1.4) keep the contexts, so the ROC and replay list carry on; new keys start new contexts.
   */
  private useSrtp(keys: SrtpKeys | undefined): void {
    const current = this.srtpKeys;
    if (!keys) {
      this.srtpKeys = this.srtpSend = this.srtpReceive = undefined;
      return;
    }
    if (current && current.suite === keys.suite && sameMasterKey(current.send, keys.send) && sameMasterKey(current.receive, keys.receive)) return;
    this.srtpSend = new SrtpContext(keys.send, keys.suite);
    this.srtpReceive = new SrtpContext(keys.receive, keys.suite);
    this.srtpKeys = keys;
  }

  /** SRTP/SRTCP → RTP/RTCP, or undefined after counting why the datagram was dropped. */
  private unprotect(msg: Buffer, protocol: 'rtp' | 'rtcp'): Buffer | undefined {
    try {
      return protocol === 'rtp' ? this.srtpReceive!.unprotectRtp(msg) : this.srtpReceive!.unprotectRtcp(msg);
    } catch (e) {
      if (!(e instanceof SrtpError)) throw e;
      if (e.failure === 'replayed') this.srtpReplayed++;
      else if (e.failure === 'malformed') {
        this.unexpected++;
        this.malformed++;
      } else this.srtpAuthFailures++;
      return undefined;
    }
  }

  // ---------------------------------------------------------------- plumbing

  private emit(direction: 'send' | 'recv', protocol: 'rtp' | 'rtcp', local: Endpoint, remote: Endpoint, bytes: Buffer): void {
    this.options.bus.packet({ node: this.options.node, direction, protocol, transport: 'udp', local, remote, bytes });
  }

  private note(level: 'warn' | 'error', text: string): void {
    this.options.bus.note({ node: this.options.node, level, text });
  }

  /** No datagram and no timer may take the UE down: a fault is reported on the trace and the packet dropped. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.unexpected++;
      this.note('error', `RTP session fault: ${(e as Error).message}`);
    }
  }
}

function bind(socket: Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}

function hex(n: number): string {
  return '0x' + n.toString(16).padStart(8, '0');
}
