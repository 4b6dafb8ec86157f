/**
 * One voice call of a simulated UE, either side: the INVITE transaction, the dialog it forms (RFC 3261
 * §12-15), the SDP offer/answer (RFC 3264) and the RTP stream (RFC 3550) that carries the UE's tone.
 *
 *   const call = ue.call('sip:bob@ims.example');        // INVITE with an SDP offer, state 'trying'
 *   call.state$.subscribe(s => …);                      // trying → ringing/early → confirmed → terminated
 *   await call.settled();                               // confirmed, or terminated with status and reason
 *   await call.hangup();                                // BYE (confirmed) or CANCEL (before the answer)
 *
 * The originating request follows TS 24.229 §5.1.2A.1: Route = P-CSCF + Service-Route (preloaded, RFC 3608
 * §6), P-Preferred-Identity = the registered IMPU (RFC 3325 §9.2), P-Access-Network-Info (§5.1.2A.1.1).
 *
 * With QoS preconditions (RFC 3312, TS 24.229 §5.1.3.1, §6.1.2) the session is set up as VoLTE handsets do:
 * INVITE (Require: precondition) → 183 sent reliably (RFC 3262: Require: 100rel, RSeq) with the SDP answer →
 * PRACK (RAck) → 200 → UPDATE with the caller's resources reserved (RFC 3311) → 200 → 180 → 200 → ACK.
 * In a confirmed call either side can re-offer (RFC 3264 §8): hold() and resume() send re-INVITEs with
 * sendonly / the previous direction (§8.4), and the other side answers recvonly; sendDtmf() sends RFC 4733
 * events on the stream.
 */
import { BehaviorSubject, filter, firstValueFrom, type Observable } from 'rxjs';
import type { TraceBus } from '../trace/events.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { SeededRandom, type Random } from '../util/random.js';
import { Dialog } from '../sip/dialog/dialog.js';
import { parseCSeq } from '../sip/headers/cseq.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { FinalCause, TransactionLayer } from '../sip/transaction/index.js';
import type { ClientTransaction } from '../sip/transaction/types.js';
import { nextHop, type ClientResult, type DialogUsage, type IncomingRequest, type UserAgent } from '../sip/ua/index.js';
import {
  answerOffer,
  applyAnswer,
  createOffer,
  cryptoAttributesByMedia,
  holdOffer,
  parseCryptoAttribute,
  parseSessionDescription,
  readPreconditions,
  resumeOffer,
  SdpError,
  type AcceptedAnswer,
  type AppliedAnswer,
  type Codec,
  type CodecName,
  type CryptoAttribute,
  type LocalOffer,
  type SdpOrigin,
} from '../sdp/index.js';
import { parseOptionTags } from '../sip/headers/p-headers.js';
import { RtpSession, type MediaMode, type PortAllocator, type ReceivedDigit, type RtpPeer, type RtpSessionStatistics } from '../rtp/index.js';
import type { SrtpKeys } from '../rtp/srtp/index.js';
import type { LinkImpairment } from '../sip/transport/impairment.js';
import { offererReserved, RESERVED_ANSWER_LINES, RESERVED_OFFER_LINES, withPreconditionLines } from './qos.js';
import { decideAsUas, formatSessionExpires, SessionTimer, sessionExpiresOf, type RefreshOutcome, type SessionExpiry, type SessionTimerSettings } from './session-timer.js';
import { MediaWatchdog } from './media-watchdog.js';

export type CallPhase = 'trying' | 'ringing' | 'early' | 'confirmed' | 'terminated';

export interface CallState {
  state: CallPhase;
  /** The final status of the INVITE (or of the BYE that ended a confirmed call). */
  status?: number;
  /** Why the call is in this state, in words (reason phrase, Warning text, who hung up). */
  reason?: string;
}

export type CallDirection = 'outgoing' | 'incoming';

/** What a call needs of its UE: the SIP stack, media resources and the identity it calls from. */
export interface CallEnvironment {
  node: string;
  ua: UserAgent;
  transactions: TransactionLayer;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  /** The UE's own address: SDP c= line and RTP sockets. */
  mediaAddress: string;
  ports: PortAllocator;
  toneHz: number;
  /** What the RTP stream sends: the UE's tone (default), or an echo of what it receives (`imslab serve`). */
  mediaMode?: MediaMode;
  /** The IMPU this UE calls as (P-Preferred-Identity). */
  identity: string;
  /** Headers every originating request of this UE carries (P-Access-Network-Info). */
  accessHeaders: ReadonlyArray<readonly [string, string]>;
  /** Told of every DTMF digit the peer sends on this call's stream (RFC 4733). */
  onDtmf?: (digit: ReceivedDigit) => void;
  /** RFC 4028 session timers: asked for in our INVITEs, granted (or 422) for the peer's. Absent: none. */
  sessionTimer?: SessionTimerSettings;
  /** End a confirmed call that should bring media and brought none for this long (media-watchdog.ts). */
  mediaTimeoutMs?: number;
  /** The UE's access link (its transport's impairment): media crosses the same bad link as its SIP. */
  impairment?: LinkImpairment;
}

export interface OutgoingCallOptions {
  /** Preloaded route set (P-CSCF, then the Service-Route). */
  routeSet: readonly string[];
  /** Codecs to offer, in preference order (default PCMU, PCMA, AMR-WB, opus, telephone-event). */
  codecs?: readonly CodecName[];
  /** Hang up this long after the call is confirmed. */
  durationMs?: number;
  /** Ask for QoS preconditions (RFC 3312): Require: precondition, 100rel, curr/des lines, UPDATE once reserved. */
  preconditions?: boolean;
  /** Max-Forwards of the INVITE (RFC 3261 §8.1.1.6: 70 by default); a small one shows 483 on the way. */
  maxForwards?: number;
  /** The identity claimed in P-Preferred-Identity (default: the UE's IMPU); the P-CSCF decides (RFC 3325 §9.1). */
  preferredIdentity?: string;
  /** Offer SRTP: RTP/SAVP with SDES a=crypto keys (RFC 3711, RFC 4568). */
  srtp?: boolean;
}

/** How the UE answers (the topology's `answer` and `answerAfter`). */
export interface AnswerPolicy {
  answer: 'auto' | 'busy' | 'noanswer';
  answerAfterMs: number;
  codecs?: readonly CodecName[];
  /** Accept RTP/SAVP offers with SDES keys (RFC 4568 §7.1.2); without it they get 488 (Warning 302). */
  srtp?: boolean;
}

/** Methods a UE allows (RFC 3261 §20.5), advertised in its INVITE and answers. */
export const UE_ALLOW = 'INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, MESSAGE, NOTIFY';

/** Option tags a UE understands in Require (RFC 3262 100rel, RFC 3312 precondition, RFC 4028 timer); see Ue's UserAgent. */
export const UE_SESSION_OPTIONS: readonly string[] = ['100rel', 'precondition', 'timer'];

/** Methods a call's dialog takes from the peer (RFC 3261 §15, §14; RFC 3262 §4; RFC 3311 §5.2). */
const IN_DIALOG_METHODS: readonly string[] = ['BYE', 'INVITE', 'UPDATE', 'PRACK'];

/** Draws only the o= numbers of a trial answer that is thrown away (see answerIncoming). */
const PROBE_RANDOM = new SeededRandom('sdp-probe');

export class Call {
  private readonly subject: BehaviorSubject<CallState>;
  private rtp: RtpSession | undefined;
  private dialog: Dialog | undefined;
  private invite: ClientTransaction | undefined;
  private inviteRequest: SipRequest | undefined;
  private offer: LocalOffer | undefined;
  private incoming: IncomingRequest | undefined;
  private okResponse: SipResponse | undefined;
  private cancelRequested = false;
  private ending: Promise<CallState> | undefined;
  private readonly timers: TimerHandle[] = [];
  private retransmit: TimerHandle | undefined;
  /** Extra dialogs from forked 2xx answers, released with a BYE (RFC 3261 §13.2.2.4). */
  private readonly strays = new Set<string>();
  /** Set as soon as the call starts ending, so that nothing starts new work on it. */
  private finishing: Promise<CallState> | undefined;
  /** Where media goes, from the latest answer (the 183's, an UPDATE's, the 200's or a re-offer's). */
  private peerMedia: RtpPeer | undefined;
  /** Our side of the session: what a re-offer starts from (RFC 3264 §8), with the o= line we last sent. */
  private template: LocalOffer | undefined;
  private localOrigin: SdpOrigin | undefined;
  /** The codecs this side supports when answering a re-offer. */
  private supportedCodecs: readonly CodecName[] | undefined;
  /** Whether this side does SRTP, and the keys in use (kept when answering a re-offer, RFC 4568 §7.1.4). */
  private srtp = false;
  private srtpKeys: SrtpKeys | undefined;
  /** A re-INVITE or UPDATE with an offer of ours is outstanding (RFC 3261 §14.2: a second one gets 491). */
  private offering = false;
  /** UAC: the RSeq of the last reliable provisional taken (RFC 3262 §4). */
  private lastRseq: number | undefined;
  /** UAS: the reliable provisional not yet PRACKed, and its retransmission timer (RFC 3262 §3). */
  private unacked: { response: SipResponse; rseq: number; timer?: TimerHandle } | undefined;
  private nextRseq: number | undefined;
  /** UAS with preconditions: waiting for the caller to report its resources reserved (RFC 3312 §6). */
  private awaitingQos: { policy: AnswerPolicy } | undefined;
  /** UAC with preconditions: the UPDATE that reports our reservation went out (once per call). */
  private qosReported = false;
  /** RFC 4028: the running session timer of the confirmed call, and the interval negotiated for it. */
  private sessionTimer: SessionTimer | undefined;
  private sessionInterval: { intervalS: number; weRefresh: boolean } | undefined;
  /** UAS: what our 2xx to the INVITE says about the timer (§9). */
  private grant: { refresher: 'uac' | 'uas'; requireTimer: boolean } | undefined;
  private mediaWatchdog: MediaWatchdog | undefined;

  private constructor(
    private readonly env: CallEnvironment,
    readonly direction: CallDirection,
    /** The other party: the Request-URI we called, or the caller's identity. */
    readonly peer: string,
  ) {
    this.subject = new BehaviorSubject<CallState>({ state: 'trying' });
  }

  /** Places a call: the INVITE leaves once the RTP port pair is bound. */
  static outgoing(env: CallEnvironment, target: string, options: OutgoingCallOptions): Call {
    const call = new Call(env, 'outgoing', target);
    void call.place(options).catch((e: unknown) => call.finish({ reason: `call could not be placed: ${(e as Error).message}` }));
    return call;
  }

  /** Takes an incoming INVITE (TS 24.229 §5.1.3, RFC 3261 §13.3) and answers it per the policy. */
  static incoming(env: CallEnvironment, request: IncomingRequest, policy: AnswerPolicy): Call {
    const from = request.request.headers.get('P-Asserted-Identity') ?? request.request.headers.get('From') ?? '';
    const call = new Call(env, 'incoming', from);
    call.incoming = request;
    void call.answerIncoming(policy).catch((e: unknown) => {
      request.respond(500, { reason: 'Server Internal Error', headers: [['Warning', `399 ${env.mediaAddress} "${quote((e as Error).message)}"`]] });
      void call.finish({ status: 500, reason: (e as Error).message });
    });
    return call;
  }

  get state(): CallState {
    return this.subject.value;
  }

  get state$(): Observable<CallState> {
    return this.subject.asObservable();
  }

  get callId(): string | undefined {
    return this.dialog?.callId ?? this.inviteRequest?.headers.get('Call-ID') ?? this.incoming?.request.headers.get('Call-ID');
  }

  /** The media statistics so far (RFC 3550 §6.4.1), or undefined before the RTP socket exists. */
  statistics(): RtpSessionStatistics | undefined {
    return this.rtp?.statistics();
  }

  /** Resolves once the call is confirmed or has ended. */
  settled(): Promise<CallState> {
    return firstValueFrom(this.subject.pipe(filter((s) => s.state === 'confirmed' || s.state === 'terminated')));
  }

  /** Resolves once the call has ended (media stopped, dialog released). */
  ended(): Promise<CallState> {
    return firstValueFrom(this.subject.pipe(filter((s) => s.state === 'terminated')));
  }

  /**
   * Ends the call from this side: BYE in a confirmed dialog (RFC 3261 §15.1.1), CANCEL for an outgoing call
   * not yet answered (§9.1; the INVITE then ends with 487), 603 Decline for an incoming one not yet answered
   * (§21.6.2). Resolves when the call is terminated.
   */
  hangup(reason = 'hung up by the user'): Promise<CallState> {
    if (this.ending) return this.ending;
    if (this.finishing) return this.finishing;
    const s = this.state.state;
    if (s === 'terminated') return Promise.resolve(this.state);
    if (s === 'confirmed' && this.dialog) {
      this.ending = this.bye(reason);
      return this.ending;
    }
    if (this.direction === 'outgoing') {
      this.cancelRequested = true;
      // RFC 3326: the Reason says why; the 487 for the INVITE ends the call (or 64·T1 without one, §9.1).
      if (this.invite) this.env.transactions.cancel(this.invite, [['Reason', `SIP;cause=487;text="${quote(reason)}"`]]);
      this.ending = this.ended();
      return this.ending;
    }
    this.incoming?.respond(603, { reason: 'Decline', headers: [['Allow', UE_ALLOW]] });
    this.ending = this.finish({ status: 603, reason });
    return this.ending;
  }

  /**
   * Ends the call locally without any further signalling: media stopped, dialog released. For a UE that is
   * shutting down after its BYE or CANCEL went unanswered.
   */
  release(reason: string): Promise<CallState> {
    return this.finish({ reason });
  }

  /** RFC 3264 §8.4: a re-INVITE that puts the stream on hold (sendonly; the peer answers recvonly). */
  hold(): Promise<void> {
    return this.reoffer('hold');
  }

  /** RFC 3264 §8.4: a re-INVITE that takes the stream off hold (back to sendrecv). */
  resume(): Promise<void> {
    return this.reoffer('resume');
  }

  /** The direction our side of the stream has now (RFC 3264 §6.1), once media is negotiated. */
  get mediaDirection(): string | undefined {
    return this.peerMedia?.localDirection;
  }

  /**
   * RFC 3311 §5.1: an UPDATE without a body refreshes the session (and our target) without touching media.
   * Resolves with the status the peer answered.
   */
  async refresh(): Promise<number> {
    const dialog = this.confirmedDialog('refresh');
    const result = await this.sendRefresh(dialog);
    return result.status;
  }

  /**
   * RFC 4028 §7.4 / §8: a session refresh is an UPDATE without SDP carrying Session-Expires with us as the
   * refresher (we are its UAC); its 2xx restarts the interval it grants.
   */
  private async sendRefresh(dialog: Dialog): Promise<RefreshOutcome> {
    const headers: Array<[string, string]> = [['Allow', UE_ALLOW]];
    const timed = this.sessionInterval;
    if (timed) headers.push(['Supported', 'timer'], ['Session-Expires', formatSessionExpires({ deltaSeconds: timed.intervalS, refresher: 'uac' })]);
    const result = await dialog.request<ClientResult>('UPDATE', { headers });
    const outcome: RefreshOutcome = { status: result.response.status, cause: result.cause };
    if (result.response.status >= 200 && result.response.status < 300) {
      dialog.refreshTarget(result.response);
      try {
        const granted = sessionExpiresOf(result.response.headers);
        if (granted) outcome.intervalS = granted.deltaSeconds;
      } catch {
        // An unreadable Session-Expires in the 2xx keeps the interval we asked for.
      }
      this.sessionTimer?.refreshed(outcome.intervalS);
    }
    return outcome;
  }

  /** RFC 4733 §2.5: the digits as telephone events on the stream, one after the other. */
  async sendDtmf(digits: string, durationMs = 100): Promise<void> {
    this.confirmedDialog('send DTMF');
    if (!this.rtp) throw new Error('the call has no media stream');
    for (const d of digits) await this.rtp.sendDtmf(d, durationMs);
    this.note('info', `DTMF ${JSON.stringify(digits)} sent as RTP events`, 'RFC 4733 §2.5');
  }

  private confirmedDialog(what: string): Dialog {
    if (this.state.state !== 'confirmed' || !this.dialog || this.finishing || this.ending) throw new Error(`cannot ${what}: the call is ${this.state.state}, not confirmed`);
    return this.dialog;
  }

  private async reoffer(kind: 'hold' | 'resume'): Promise<void> {
    const dialog = this.confirmedDialog(kind);
    if (this.offering) throw new Error(`cannot ${kind}: an offer of ours is still outstanding (RFC 3261 §14.2)`);
    const base = this.template!;
    const previous: LocalOffer = { ...base, origin: this.localOrigin ?? base.origin };
    const next = kind === 'hold' ? holdOffer(previous) : resumeOffer(previous);
    this.offering = true;
    try {
      const r = await this.reinvite(dialog, next);
      if (r.status < 200 || r.status >= 300) {
        // RFC 3261 §14.1: a refused re-INVITE leaves the session as it was.
        throw new Error(`re-INVITE to ${kind} answered ${r.status} ${r.reason}`);
      }
      const applied = applyAnswer(next, r.body.toString('utf8'));
      this.localOrigin = next.origin;
      this.template = next;
      this.applyMedia(this.peerFrom(applied, next));
      this.note('info', `${kind === 'hold' ? 'call on hold' : 'call resumed'}: our side of the stream is ${applied.direction}`, 'RFC 3264 §8.4');
    } finally {
      this.offering = false;
    }
  }

  /** §14.1: a re-INVITE in the dialog; every 2xx (and its retransmissions) gets the ACK (§13.2.2.4). */
  private reinvite(dialog: Dialog, offer: LocalOffer): Promise<SipResponse> {
    const { env } = this;
    const request = dialog.createRequest('INVITE', { headers: [['Allow', UE_ALLOW], ['Accept', 'application/sdp'], ...this.refreshHeaders()], body: offer.sdp, contentType: 'application/sdp' });
    if (env.ua.options.product) request.headers.set('User-Agent', env.ua.options.product);
    const cseq = parseCSeq(request.headers.get('CSeq')!).seq;
    const destination = nextHop(request, env.ua.options.outboundProxy, (h) => env.ua.options.resolveHost?.(h));
    return new Promise<SipResponse>((resolve) => {
      let settled = false;
      env.transactions.sendRequest(request, destination, {
        final: (r) => {
          if (r.status >= 200 && r.status < 300 && dialog.state !== 'terminated') void env.ua.ack(dialog, cseq).catch(() => undefined);
          if (!settled) {
            settled = true;
            if (r.status >= 200 && r.status < 300) this.sessionTimer?.refreshed(this.grantedInterval(r));
            resolve(r);
          }
        },
      });
    });
  }

  // ------------------------------------------------------------------ originating side

  private async place(options: OutgoingCallOptions): Promise<void> {
    const { env } = this;
    const rtp = await this.openMedia();
    if (this.finishing) {
      await rtp.stop('call ended before it was placed');
      return;
    }
    this.rtp = rtp;
    if (this.cancelRequested) {
      await this.finish({ reason: 'hung up before the INVITE was sent' });
      return;
    }
    const preconditions = options.preconditions === true;
    this.offer = createOffer(
      { address: env.mediaAddress, port: this.rtp.local.rtpPort, preconditions, ...(options.codecs ? { codecs: options.codecs } : {}), ...(options.srtp ? { srtp: true } : {}) },
      env.random,
    );
    this.srtp = options.srtp === true;
    this.localOrigin = this.offer.origin;
    this.supportedCodecs = options.codecs;
    const headers: Array<[string, string]> = [
      ['P-Preferred-Identity', `<${options.preferredIdentity ?? env.identity}>`],
      ...env.accessHeaders.map(([n, v]): [string, string] => [n, v]),
      ['Allow', UE_ALLOW],
      ['Accept', 'application/sdp'],
    ];
    // RFC 3312 §11 / TS 24.229 §5.1.3.1: a UE that wants preconditions requires them and supports 100rel, so
    // that the answer can come back in a reliable 183 (RFC 3262 §3).
    // RFC 4028 §7.1: a UAC that supports session timers says so and asks for an interval, refreshing itself.
    const timer = env.sessionTimer;
    if (preconditions) headers.push(['Supported', '100rel, precondition'], ['Require', 'precondition']);
    // A list header may take a second line (RFC 3261 §7.3.1).
    if (timer) headers.push(['Supported', 'timer'], ['Session-Expires', formatSessionExpires({ deltaSeconds: timer.sessionExpiresS, refresher: 'uac' })], ['Min-SE', String(timer.minSeS)]);
    const request = env.ua.createRequest('INVITE', this.peer, {
      routeSet: options.routeSet,
      headers,
      body: this.offer.sdp,
      contentType: 'application/sdp',
    });
    if (options.maxForwards !== undefined) request.headers.set('Max-Forwards', String(options.maxForwards));
    const destination = nextHop(request, env.ua.options.outboundProxy, (h) => env.ua.options.resolveHost?.(h));
    this.inviteRequest = request;
    this.invite = env.transactions.sendRequest(request, destination, {
      provisional: (r) => this.onProvisional(r),
      final: (r, cause) =>
        void this.onFinal(r, cause, options).catch((e: unknown) => {
          // A 2xx we cannot build a dialog from (no To tag, RFC 3261 §12.1.2) ends the attempt; nothing crashes.
          this.note('warn', `INVITE response handling failed: ${(e as Error).message}`, 'RFC 3261 §13.2.2');
          void this.finish({ status: r.status, reason: `unusable ${r.status} response: ${(e as Error).message}` });
        }),
    });
  }

  /** RFC 3261 §13.2.2.1: 180 rings, 183 is early media (TS 24.229 §5.1.3.1); 100 only stops retransmissions. */
  private onProvisional(r: SipResponse): void {
    const s = this.state.state;
    if (s !== 'trying' && s !== 'ringing' && s !== 'early') return;
    if (r.status > 100 && hasOption(r, 'Require', '100rel')) {
      void this.onReliableProvisional(r).catch((e: unknown) => this.note('warn', `reliable ${r.status} not handled: ${(e as Error).message}`, 'RFC 3262 §4'));
      return;
    }
    if (r.status === 180) this.set({ state: 'ringing', status: 180, reason: r.reason });
    else if (r.status > 100) this.set({ state: 'early', status: r.status, reason: r.reason });
  }

  /**
   * RFC 3262 §4: a reliable provisional response is PRACKed once (retransmissions and ones out of RSeq order
   * are not); it forms the early dialog (RFC 3261 §12.1.2) and its SDP is the answer to our offer. With
   * preconditions the reservation is then reported in an UPDATE (RFC 3312 §6, RFC 3311 §5.1).
   */
  private async onReliableProvisional(r: SipResponse): Promise<void> {
    const rseq = Number(r.headers.get('RSeq') ?? '');
    if (!Number.isInteger(rseq) || rseq < 1 || rseq > 0xffffffff) {
      this.note('warn', `reliable ${r.status} without a valid RSeq: ignored`, 'RFC 3262 §7.1');
      return;
    }
    if (this.lastRseq !== undefined && rseq !== this.lastRseq + 1) return;
    const early = Dialog.asUac(this.inviteRequest!, r, this.env.ua.contact);
    if (this.dialog && this.dialog.key !== early.key) {
      this.note('info', `reliable ${r.status} from a second fork (${early.remoteTag}) not followed`, 'RFC 3262 §4');
      return;
    }
    this.lastRseq = rseq;
    if (!this.dialog) {
      this.dialog = early;
      this.env.ua.attachDialog(early, this.usage());
    }
    const dialog = this.dialog;
    const cseq = parseCSeq(this.inviteRequest!.headers.get('CSeq')!).seq;
    if (r.body.length > 0 && !this.peerMedia) {
      const applied = applyAnswer(this.offer!, r.body.toString('utf8'));
      this.peerMedia = this.peerFrom(applied, this.offer!);
    }
    this.set(r.status === 180 ? { state: 'ringing', status: 180, reason: r.reason } : { state: 'early', status: r.status, reason: r.reason });
    const prack = await dialog.request<ClientResult>('PRACK', { headers: [['RAck', `${rseq} ${cseq} INVITE`]] });
    if (prack.response.status >= 300) {
      this.note('warn', `PRACK answered ${prack.response.status} ${prack.response.reason}`, 'RFC 3262 §4');
      return;
    }
    if (!this.offer!.preconditions || this.qosReported || !this.peerMedia || this.finishing || dialog.state === 'terminated') return;
    // RFC 3312 §6: our resources are up (simulated: at once); the UPDATE says so, with a new offer (§8 version + 1).
    this.qosReported = true;
    // TS 24.228 §7.2: the later offers carry the one codec chosen (RFC 3264 §8.3.2), which also keeps the UPDATE
    // small enough for UDP (RFC 3261 §18.1.1).
    const next = resumeOffer({ ...this.offer!, codecs: negotiatedCodecs(this.offer!, this.peerMedia.codec) });
    const offer: LocalOffer = { ...next, sdp: withPreconditionLines(next.sdp, RESERVED_OFFER_LINES) };
    this.note('info', 'resources reserved (simulated at once): UPDATE with a=curr:qos local sendrecv', 'RFC 3312 §6, TS 24.229 §6.1.2');
    this.offering = true;
    try {
      const update = await dialog.request<ClientResult>('UPDATE', {
        headers: [['Require', 'precondition'], ['Allow', UE_ALLOW]],
        body: offer.sdp,
        contentType: 'application/sdp',
      });
      if (update.response.status < 200 || update.response.status >= 300) {
        this.note('warn', `UPDATE answered ${update.response.status} ${update.response.reason}`, 'RFC 3311 §5.1');
        return;
      }
      const applied = applyAnswer(offer, update.response.body.toString('utf8'));
      this.offer = offer;
      this.localOrigin = offer.origin;
      this.peerMedia = this.peerFrom(applied, offer);
    } finally {
      this.offering = false;
    }
  }

  private async onFinal(r: SipResponse, cause: FinalCause, options: OutgoingCallOptions): Promise<void> {
    const request = this.inviteRequest!;
    const cseq = parseCSeq(request.headers.get('CSeq')!).seq;
    if (r.status < 200 || r.status >= 300) {
      const warning = r.headers.get('Warning');
      const why = cause === 'response' ? r.reason : `${r.reason} (${cause})`;
      this.note('info', `INVITE answered ${r.status} ${why}${warning ? `; Warning: ${warning}` : ''}`, 'RFC 3261 §13.2.2.3');
      await this.finish({ status: r.status, reason: warning ? `${why}; Warning: ${warning}` : why });
      return;
    }
    const dialog = Dialog.asUac(request, r, this.env.ua.contact);
    // §13.2.2.4: every 2xx is acknowledged; a retransmission of the one we took gets the ACK again.
    if (this.dialog && this.dialog.state === 'confirmed') {
      if (dialog.key === this.dialog.key) await this.env.ua.ack(this.dialog, cseq);
      else await this.releaseStray(dialog, cseq);
      return;
    }
    if (this.finishing) {
      await this.releaseStray(dialog, cseq);
      return;
    }
    if (this.dialog && this.dialog.key === dialog.key) {
      // §12.1.2: the early dialog of the reliable 183 becomes the call's confirmed dialog.
      this.dialog.confirm(r);
    } else {
      if (this.dialog) {
        // Another fork answered than the one we PRACKed: its early dialog is dropped (§13.2.2.4).
        this.dialog.terminate();
        this.env.ua.detachDialog(this.dialog);
        this.peerMedia = undefined;
      }
      this.dialog = dialog;
      this.env.ua.attachDialog(dialog, this.usage());
    }
    await this.env.ua.ack(this.dialog, cseq);
    if (this.cancelRequested) {
      // §9.1 / §15: the 2xx crossed our CANCEL; the call exists and is ended with a BYE.
      this.set({ state: 'confirmed', status: r.status, reason: r.reason });
      this.ending = this.bye('answered after CANCEL');
      return;
    }
    let peer: RtpPeer;
    try {
      peer = this.peerFromAnswer(r);
    } catch (e) {
      // RFC 3264 §7 / RFC 3261 §13.2.2.4: an answer we cannot use ends the session with ACK then BYE.
      this.set({ state: 'confirmed', status: r.status, reason: r.reason });
      const why = e instanceof SdpError ? e.reason : (e as Error).message;
      this.note('warn', `unusable SDP answer: ${why}`, 'RFC 3264 §7');
      this.ending = this.bye(`unusable SDP answer: ${why}`);
      return;
    }
    this.peerMedia = peer;
    this.template = { ...this.offer!, codecs: negotiatedCodecs(this.offer!, peer.codec), preconditions: false };
    this.rtp!.start(peer);
    this.set({ state: 'confirmed', status: r.status, reason: r.reason });
    this.startUacSessionTimer(r);
    this.watchMedia();
    if (options.durationMs !== undefined) {
      this.timers.push(this.env.clock.setTimeout(() => void this.hangup('call duration reached'), options.durationMs));
    }
  }

  private peerFromAnswer(r: SipResponse): RtpPeer {
    if (r.body.length === 0) {
      // RFC 3262 §5: the answer already came in a reliable provisional; the 2xx need not repeat it.
      if (this.peerMedia) return this.peerMedia;
      throw new SdpError('2xx without an SDP answer to our offer');
    }
    return this.peerFrom(applyAnswer(this.offer!, r.body.toString('utf8')), this.offer!);
  }

  /** The stream as an answer to our `offer` describes it. */
  private peerFrom(applied: AppliedAnswer, offer: LocalOffer): RtpPeer {
    // We may receive with the numbers of our own offer, send with the answerer's (RFC 3264 §6.1).
    const ours = offer.codecs.filter((c) => (c.name === applied.chosen.name && c.clockRate === applied.chosen.clockRate) || c.name === 'telephone-event');
    const peer: RtpPeer = {
      address: applied.remote.address,
      port: applied.remote.port,
      rtcpAddress: applied.remote.rtcpAddress,
      rtcpPort: applied.remote.rtcpPort,
      codec: applied.chosen,
      localDirection: applied.direction,
      receivePayloadTypes: ours.map((c) => c.payloadType),
    };
    if (applied.telephoneEvent !== undefined) peer.telephoneEvent = applied.telephoneEvent;
    if (applied.srtp) peer.srtp = this.srtpKeys = applied.srtp;
    return peer;
  }

  /** The answerer's SRTP option: ours keys kept across re-answers so the stream is not re-keyed. */
  private srtpAnswer(): { srtp?: { previous?: SrtpKeys } } {
    return this.srtp ? { srtp: this.srtpKeys ? { previous: this.srtpKeys } : {} } : {};
  }

  /** A renegotiated stream: the same peer only changes direction (RFC 3264 §8.4), a new one is re-targeted. */
  private applyMedia(peer: RtpPeer): void {
    const before = this.peerMedia;
    this.peerMedia = peer;
    // Before the 2xx nothing is sent yet; the stream starts on the answer that confirms the call.
    if (!this.rtp || this.state.state !== 'confirmed') return;
    const same = before && before.address === peer.address && before.port === peer.port && before.codec.payloadType === peer.codec.payloadType;
    if (same) this.rtp.setDirection(peer.localDirection ?? 'sendrecv');
    else this.rtp.start(peer);
    this.mediaWatchdog?.reset();
  }

  /** A 2xx we do not want (a second fork, or after we gave up): ACK it, then BYE (§13.2.2.4). */
  private async releaseStray(dialog: Dialog, cseq: number): Promise<void> {
    if (this.strays.has(dialog.key)) {
      await this.env.ua.ack(dialog, cseq);
      return;
    }
    this.strays.add(dialog.key);
    this.env.ua.attachDialog(dialog, { methods: ['BYE'], onRequest: (i) => i.respond(200) });
    await this.env.ua.ack(dialog, cseq);
    this.note('info', `extra 2xx from ${dialog.remoteTag} acknowledged and released with BYE`, 'RFC 3261 §13.2.2.4');
    await dialog.request<ClientResult>('BYE').catch(() => undefined);
    this.env.ua.detachDialog(dialog);
  }

  // ------------------------------------------------------------------ terminating side

  private async answerIncoming(policy: AnswerPolicy): Promise<void> {
    const { env } = this;
    const incoming = this.incoming!;
    const request = incoming.request;
    incoming.transaction.onTerminated(() => {
      // The INVITE ended without our 2xx: the caller cancelled (the UA core answered 487, §9.2) or gave up.
      if (!this.okResponse && !this.finishing) {
        const last = incoming.transaction.lastStatus;
        if (last === 487) this.note('info', 'CANCEL from the caller: the INVITE ended with 487 Request Terminated', 'RFC 3261 §9.2');
        void this.finish({ status: last ?? 487, reason: last === 487 ? 'cancelled by the caller' : 'INVITE transaction ended' });
      }
    });
    // TS 24.229 §5.1.3.1 / RFC 3264 §5: the simulated UE needs the offer in the INVITE.
    const contentType = (request.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (request.body.length === 0) {
      this.refuse(488, 'Not Acceptable Here', `399 ${host(env.mediaAddress)} "INVITE without an SDP offer: this UE does not send the offer in a 2xx"`);
      return;
    }
    this.supportedCodecs = policy.codecs;
    this.srtp = policy.srtp === true;
    if (contentType !== 'application/sdp') {
      this.refuse(415, 'Unsupported Media Type', undefined, [['Accept', 'application/sdp']]);
      return;
    }
    if (policy.answer === 'busy') {
      this.refuse(486, 'Busy Here');
      return;
    }
    if (!this.negotiateSessionTimer(request)) return;
    const offerText = request.body.toString('utf8');
    // A trial answer decides 400/488 before any socket is bound, so a refused call leaves no stream behind.
    try {
      parseSessionDescription(offerText);
      const trial = answerOffer(offerText, { address: env.mediaAddress, port: 9, ...(policy.codecs ? { codecs: policy.codecs } : {}), ...this.srtpAnswer() }, PROBE_RANDOM);
      if (!trial.ok) {
        this.refuse(488, 'Not Acceptable Here', trial.warning);
        return;
      }
    } catch (e) {
      if (!(e instanceof SdpError)) throw e;
      // RFC 3261 §21.4.1: a body that cannot be read is a 400, the reason in the phrase.
      this.refuse(400, `Bad Request (${e.message})`, `399 ${host(env.mediaAddress)} "${quote(e.message)}"`);
      return;
    }
    if (offerHasPreconditions(offerText)) {
      // RFC 3312 §11: the answer must reach the offerer before the 2xx, so only in a reliable provisional.
      if (!hasOption(request, 'Supported', '100rel') && !hasOption(request, 'Require', '100rel')) {
        this.refuse(421, 'Extension Required', undefined, [['Require', '100rel']]);
        return;
      }
      await this.answerWithPreconditions(offerText, policy);
      return;
    }
    if (hasOption(request, 'Require', '100rel')) {
      // RFC 3262 §3: the caller insists on reliable provisionals; the 180 goes in an early dialog and is PRACKed.
      this.openEarlyDialog();
      this.sendReliable(180, 'Ringing');
      this.set({ state: 'ringing', status: 180, reason: 'Ringing' });
      this.scheduleAnswer(offerText, policy);
      return;
    }
    this.ring(offerText, policy);
  }

  /** RFC 3261 §13.3.1.1: alert the user (180), then answer as the policy says. */
  private ring(offerText: string, policy: AnswerPolicy): void {
    this.incoming!.respond(180, { headers: this.dialogHeaders() });
    this.set({ state: 'ringing', status: 180, reason: 'Ringing' });
    this.scheduleAnswer(offerText, policy);
  }

  private scheduleAnswer(offerText: string, policy: AnswerPolicy): void {
    if (policy.answer === 'noanswer') return;
    this.timers.push(this.env.clock.setTimeout(() => void this.accept(offerText, policy).catch((e: unknown) => this.failAnswer(e)), policy.answerAfterMs));
  }

  /**
   * TS 24.229 §5.1.3.1 with preconditions: the SDP answer goes at once in a reliable 183 (RFC 3262 §3), in an
   * early dialog; the UE alerts only once the caller's UPDATE says its resources are reserved (RFC 3312 §6).
   */
  private async answerWithPreconditions(offerText: string, policy: AnswerPolicy): Promise<void> {
    const { env } = this;
    const incoming = this.incoming!;
    const rtp = await this.openMedia();
    if (this.finishing) {
      await rtp.stop('call ended before it was answered');
      return;
    }
    this.rtp = rtp;
    if (incoming.transaction.state !== 'proceeding' && incoming.transaction.state !== 'trying') {
      await this.finish({ status: incoming.transaction.lastStatus ?? 487, reason: 'cancelled by the caller' });
      return;
    }
    const answer = answerOffer(offerText, { address: env.mediaAddress, port: rtp.local.rtpPort, ...(policy.codecs ? { codecs: policy.codecs } : {}), ...this.srtpAnswer() }, env.random);
    if (!answer.ok) {
      this.refuse(488, 'Not Acceptable Here', answer.warning);
      return;
    }
    this.takeAnswer(answer);
    this.openEarlyDialog();
    this.awaitingQos = { policy };
    this.sendReliable(183, 'Session Progress', answer.sdp);
    this.set({ state: 'early', status: 183, reason: 'Session Progress' });
    this.note('info', '183 with the SDP answer sent reliably; alerting waits for the caller to report its resources reserved', 'RFC 3262 §3, RFC 3312 §6');
  }

  /** Our answer becomes the session's description: where media goes and what a later re-offer starts from. */
  private takeAnswer(answer: AcceptedAnswer): void {
    this.localOrigin = answer.origin;
    if (answer.srtp) this.srtpKeys = answer.srtp;
    this.peerMedia = peerOfAnswer(answer);
    const te = answer.telephoneEvent !== undefined ? answer.remote.formats.find((c) => c.payloadType === answer.telephoneEvent) : undefined;
    const codecs: Codec[] = te ? [answer.chosen, te] : [answer.chosen];
    this.template = {
      sdp: '',
      origin: answer.origin,
      address: this.env.mediaAddress,
      port: this.rtp!.local.rtpPort,
      codecs,
      direction: 'sendrecv',
      activeDirection: 'sendrecv',
      preconditions: false,
      // A re-offer of ours keeps the tag, suite and key we answered with (RFC 4568 §7.1.4).
      ...(answer.srtp ? { crypto: answeredCrypto(answer.sdp) } : {}),
    };
  }

  /** §12.1.1: the early dialog a reliable provisional creates on the UAS side, so PRACK and UPDATE find it. */
  private openEarlyDialog(): void {
    if (this.dialog) return;
    this.dialog = Dialog.asUas(this.incoming!.request, this.incoming!.localTag, this.env.ua.contact, 'early');
    this.env.ua.attachDialog(this.dialog, this.usage());
  }

  /**
   * RFC 3262 §3: a provisional response with Require: 100rel and RSeq, retransmitted at T1, 2·T1 … until the
   * PRACK; unacknowledged for 64·T1, the INVITE is rejected with a 5xx.
   */
  private sendReliable(status: number, reason: string, sdp?: string): void {
    const { env } = this;
    // §3: the first RSeq is chosen between 1 and 2**31 - 1; each later one is one more.
    this.nextRseq ??= 1 + env.random.int(0x7fff_fffe);
    const rseq = this.nextRseq++;
    const headers: Array<[string, string]> = [...this.dialogHeaders(), ['Require', '100rel'], ['RSeq', String(rseq)]];
    const response = this.incoming!.respond(status, { reason, headers, ...(sdp ? { body: sdp, contentType: 'application/sdp' } : {}) });
    this.unacked = { response, rseq };
    this.retransmitReliable(env.transactions.timers.t1, 0);
  }

  private retransmitReliable(interval: number, elapsed: number): void {
    const u = this.unacked;
    if (!u) return;
    const { t1 } = this.env.transactions.timers;
    u.timer = this.env.clock.setTimeout(() => {
      if (this.unacked !== u || this.finishing) return;
      const total = elapsed + interval;
      if (total >= 64 * t1) {
        this.unacked = undefined;
        this.refuse(500, 'Server Internal Error', `399 ${host(this.env.mediaAddress)} "no PRACK for the reliable ${u.response.status} within 64*T1 (RFC 3262 section 3)"`);
        return;
      }
      this.incoming!.transaction.respond(u.response);
      this.retransmitReliable(2 * interval, total);
    }, interval);
  }

  /** RFC 3261 §13.3.1.4: the 2xx with the SDP answer, then media, then 2xx retransmissions until the ACK. */
  private async accept(offerText: string, policy: AnswerPolicy): Promise<void> {
    const { env } = this;
    const incoming = this.incoming!;
    if (this.state.state !== 'ringing' || incoming.finalResponse || incoming.transaction.state !== 'proceeding') return;
    if (this.dialog && this.peerMedia && this.rtp) {
      // RFC 3262 §5: the answer went in the reliable 183; the 2xx carries none, the early dialog is confirmed.
      this.okResponse = incoming.respond(200, { headers: [...this.dialogHeaders(), ...this.grantHeaders()] });
      this.dialog.state = 'confirmed';
      this.rtp.start(this.peerMedia);
      this.set({ state: 'confirmed', status: 200, reason: 'OK' });
      this.startUasSessionTimer();
      this.watchMedia();
      this.retransmitOk(incoming, this.okResponse, env.transactions.timers.t1, 0);
      return;
    }
    const rtp = await this.openMedia();
    if (this.finishing) {
      await rtp.stop('call ended before it was answered');
      return;
    }
    this.rtp = rtp;
    if (this.state.state !== 'ringing' || incoming.transaction.state !== 'proceeding') {
      await this.finish({ status: incoming.transaction.lastStatus ?? 487, reason: 'cancelled by the caller' });
      return;
    }
    const answer = answerOffer(offerText, { address: env.mediaAddress, port: this.rtp.local.rtpPort, ...(policy.codecs ? { codecs: policy.codecs } : {}), ...this.srtpAnswer() }, env.random);
    if (!answer.ok) {
      this.refuse(488, 'Not Acceptable Here', answer.warning);
      return;
    }
    this.okResponse = incoming.respond(200, { headers: [...this.dialogHeaders(), ...this.grantHeaders()], body: answer.sdp, contentType: 'application/sdp' });
    if (this.dialog) this.dialog.state = 'confirmed';
    else {
      this.dialog = Dialog.asUas(incoming.request, incoming.localTag, env.ua.contact, 'confirmed');
      env.ua.attachDialog(this.dialog, this.usage());
    }
    this.takeAnswer(answer);
    this.rtp.start(this.peerMedia!);
    this.set({ state: 'confirmed', status: 200, reason: 'OK' });
    this.startUasSessionTimer();
    this.watchMedia();
    this.retransmitOk(incoming, this.okResponse, env.transactions.timers.t1, 0);
  }

  /** §13.3.1.4: resend the 2xx at T1, 2·T1 … capped at T2 until the ACK; without one after 64·T1, BYE. */
  private retransmitOk(incoming: IncomingRequest, ok: SipResponse, interval: number, elapsed: number): void {
    const { t1, t2 } = this.env.transactions.timers;
    this.retransmit?.cancel();
    this.retransmit = this.env.clock.setTimeout(() => {
      const total = elapsed + interval;
      if (this.state.state !== 'confirmed' || this.finishing) return;
      if (total >= 64 * t1) {
        this.note('warn', 'no ACK for our 2xx within 64·T1: the session is ended with BYE', 'RFC 3261 §13.3.1.4');
        void this.hangup('no ACK received');
        return;
      }
      // Over a reliable transport the 2xx is not resent, only the ACK awaited.
      if (incoming.received.source.transport === 'udp') incoming.transaction.respond(ok);
      this.retransmitOk(incoming, ok, Math.min(2 * interval, t2), total);
    }, interval);
  }

  private failAnswer(e: unknown): void {
    const why = e instanceof SdpError ? e.reason : (e as Error).message;
    this.refuse(500, 'Server Internal Error', `399 ${host(this.env.mediaAddress)} "${quote(why)}"`);
  }

  /** A final non-2xx to the INVITE, with the reason on the trace and in the state. */
  private refuse(status: number, reason: string, warning?: string, headers: Array<[string, string]> = []): void {
    const h: Array<[string, string]> = [...headers];
    if (warning) h.push(['Warning', warning]);
    this.incoming!.respond(status, { reason, headers: h });
    this.note('info', `INVITE refused with ${status} ${reason}${warning ? ` (${warning})` : ''}`, 'TS 24.229 §5.1.3.1');
    void this.finish({ status, reason: warning ? `${reason}; Warning: ${warning}` : reason });
  }

  /** §12.1.1: a dialog-creating response carries our Contact and the request's Record-Route, in order. */
  private dialogHeaders(): Array<[string, string]> {
    const rr = this.incoming!.request.headers.getAll('Record-Route');
    return [...rr.map((v): [string, string] => ['Record-Route', v]), ['Contact', `<${this.env.ua.contact}>`], ['Allow', UE_ALLOW]];
  }

  // ------------------------------------------------------------------ session timers (RFC 4028), media timeout

  /**
   * §9, the initial INVITE: an interval below our Min-SE is refused with 422 and our Min-SE (§6), so that the
   * caller can retry with a larger one (§7.4); otherwise the grant is kept for the 2xx. False when refused.
   */
  private negotiateSessionTimer(request: SipRequest): boolean {
    const ours = this.env.sessionTimer;
    if (!ours) return true;
    const decision = decideAsUas(request.headers, hasOption(request, 'Supported', 'timer'), ours);
    switch (decision.kind) {
      case 'bad':
        this.refuse(400, 'Bad Request (Session-Expires)', `399 ${host(this.env.mediaAddress)} "${quote(decision.reason)}"`);
        return false;
      case 'too-small':
        this.refuse(422, 'Session Interval Too Small', undefined, [['Min-SE', String(decision.minSeS)]]);
        return false;
      case 'timer':
        // The refresher is named from the INVITE's side: uac is the caller, i.e. not us.
        this.sessionInterval = { intervalS: decision.intervalS, weRefresh: decision.refresher === 'uas' };
        this.grant = { refresher: decision.refresher, requireTimer: decision.requireTimer };
        return true;
      default:
        return true;
    }
  }

  /** RFC 4028 §9: what our 2xx to the INVITE carries: the granted Session-Expires, Require: timer if the UAC can. */
  private grantHeaders(): Array<[string, string]> {
    const timed = this.sessionInterval;
    if (!timed || !this.grant) return [];
    const h: Array<[string, string]> = [['Session-Expires', formatSessionExpires({ deltaSeconds: timed.intervalS, refresher: this.grant.refresher })]];
    if (this.grant.requireTimer) h.push(['Require', 'timer']);
    return h;
  }

  private startUasSessionTimer(): void {
    const timed = this.sessionInterval;
    if (timed) this.runSessionTimer(timed.intervalS, timed.weRefresh);
  }

  /** §7.2: the 2xx's Session-Expires sets the interval and who refreshes; without one the session has no timer. */
  private startUacSessionTimer(r: SipResponse): void {
    if (!this.env.sessionTimer) return;
    let se;
    try {
      se = sessionExpiresOf(r.headers);
    } catch (e) {
      this.note('warn', `the 2xx's Session-Expires is unusable (${(e as Error).message}): the session has no timer`, 'RFC 4028 §7.2');
      return;
    }
    if (!se) {
      this.note('info', 'the 2xx carries no Session-Expires: the answerer does not use session timers', 'RFC 4028 §7.2');
      return;
    }
    // §7.2: refresher=uac names us, the INVITE's UAC; the UAS always sets the parameter (§9), uac if not.
    this.runSessionTimer(se.deltaSeconds, (se.refresher ?? 'uac') === 'uac');
  }

  private runSessionTimer(intervalS: number, weRefresh: boolean): void {
    this.sessionTimer?.stop();
    this.sessionInterval = { intervalS, weRefresh };
    const timer = new SessionTimer(this.env.clock, {
      intervalS,
      weRefresh,
      refresh: () => this.sendRefresh(this.dialog!),
      expire: (why) => this.sessionExpired(why),
    });
    this.sessionTimer = timer;
    timer.start();
    this.note('info', `session timer ${intervalS} s, refreshed by ${weRefresh ? 'us' : 'the peer'}`, 'RFC 4028 §7.2, §9');
  }

  /**
   * A refresh from the peer (re-INVITE or UPDATE in the confirmed dialog, §9): too small an interval is 422
   * and leaves the session as it was; otherwise the 2xx echoes the grant and `apply` restarts our timer with
   * the refresher the request names (uac is the peer, the refresh's sender).
   */
  private takeRefresh(incoming: IncomingRequest): { ok: false } | { ok: true; headers: Array<[string, string]>; apply?: () => void } {
    const ours = this.env.sessionTimer;
    if (!ours) return { ok: true, headers: [] };
    const request = incoming.request;
    const decision = decideAsUas(request.headers, hasOption(request, 'Supported', 'timer'), ours);
    switch (decision.kind) {
      case 'bad':
        incoming.respond(400, { reason: 'Bad Request (Session-Expires)', headers: [['Warning', `399 ${host(this.env.mediaAddress)} "${quote(decision.reason)}"`]] });
        return { ok: false };
      case 'too-small':
        incoming.respond(422, { reason: 'Session Interval Too Small', headers: [['Min-SE', String(decision.minSeS)]] });
        return { ok: false };
      case 'none':
        return { ok: true, headers: [] };
      default: {
        const headers: Array<[string, string]> = [['Session-Expires', formatSessionExpires({ deltaSeconds: decision.intervalS, refresher: decision.refresher })]];
        if (decision.requireTimer) headers.push(['Require', 'timer']);
        return { ok: true, headers, apply: () => this.runSessionTimer(decision.intervalS, decision.refresher === 'uas') };
      }
    }
  }

  /** §7.4: our re-INVITEs keep the session timer going (with Session-Expires, the 2xx is a refresh). */
  private refreshHeaders(): Array<[string, string]> {
    const timed = this.sessionInterval;
    if (!timed) return [];
    return [['Supported', 'timer'], ['Session-Expires', formatSessionExpires({ deltaSeconds: timed.intervalS, refresher: timed.weRefresh ? 'uac' : 'uas' })]];
  }

  /** The interval a 2xx to our refresh granted, else the one we run. */
  private grantedInterval(r: SipResponse): number | undefined {
    try {
      return sessionExpiresOf(r.headers)?.deltaSeconds;
    } catch {
      return undefined;
    }
  }

  /** RFC 4028 §10: the session timer ended the session: BYE (to a peer that may be gone), and the trace says why. */
  private sessionExpired(why: SessionExpiry): void {
    if (this.state.state !== 'confirmed' || this.finishing || this.ending) return;
    const peer = peerUri(this.peer);
    let text: string;
    if (why.kind === 'refresh-failed') {
      const how = why.cause === 'response' ? String(why.status) : `${why.status}, ${why.cause}`;
      text = `session refresh to ${peer} failed (${how}): the peer is gone; call ended`;
    } else if (this.sessionInterval?.weRefresh) {
      text = `session refresh to ${peer} unanswered when the ${why.intervalS} s session interval ran out: call ended`;
    } else {
      text = `no session refresh from ${peer} within the ${why.intervalS} s session interval: the peer is gone; call ended`;
    }
    this.note('warn', text, 'RFC 4028 §10');
    void this.hangup(why.kind === 'refresh-failed' ? `session refresh failed (${why.status})` : 'session expired');
  }

  /** Ends the call when a stream that should bring media brings none for mediaTimeoutMs (media-watchdog.ts). */
  private watchMedia(): void {
    const timeoutMs = this.env.mediaTimeoutMs;
    const rtp = this.rtp;
    if (timeoutMs === undefined || !rtp || this.mediaWatchdog) return;
    this.mediaWatchdog = new MediaWatchdog(this.env.clock, {
      timeoutMs,
      received: () => rtp.statistics().received,
      expecting: () => {
        const d = this.peerMedia?.localDirection ?? 'sendrecv';
        return d === 'sendrecv' || d === 'recvonly';
      },
      silent: (silentMs) => {
        if (this.state.state !== 'confirmed' || this.finishing || this.ending) return;
        this.note('warn', `no RTP from ${peerUri(this.peer)} for ${(silentMs / 1000).toFixed(1)} s: call ended`, 'implementation practice (media timeout), cf. RFC 3550 §6.3.5');
        void this.hangup('no RTP received');
      },
    });
    this.mediaWatchdog.start();
  }

  // ------------------------------------------------------------------ both sides

  private usage(): DialogUsage {
    return {
      methods: IN_DIALOG_METHODS,
      onRequest: (incoming) => {
        switch (incoming.method) {
          case 'PRACK':
          case 'UPDATE':
          case 'INVITE':
            try {
              if (incoming.method === 'PRACK') this.onPrack(incoming);
              else this.onOffer(incoming);
            } catch (e) {
              // No peer's request may crash the UE: it gets a 500 with the reason, the session stays as it was.
              this.note('warn', `${incoming.method} not handled: ${(e as Error).message}`, 'RFC 3261 §21.5.1');
              incoming.respond(500, { reason: 'Server Internal Error', headers: [['Warning', `399 ${host(this.env.mediaAddress)} "${quote((e as Error).message)}"`]] });
            }
            return;
          default:
            // §15.1.2: the UAS of a BYE answers 200 and ends the session; media stops with it.
            incoming.respond(200);
            this.note('info', 'BYE from the peer: call ended', 'RFC 3261 §15.1.2');
            void this.finish({ reason: 'hung up by the peer' });
        }
      },
      onAck: () => {
        this.retransmit?.cancel();
        this.retransmit = undefined;
      },
    };
  }

  /** RFC 3262 §3: the PRACK that matches our unacknowledged reliable provisional stops its retransmissions. */
  private onPrack(incoming: IncomingRequest): void {
    const [rseq, cseq, method] = (incoming.request.headers.get('RAck') ?? '').trim().split(/\s+/);
    const inviteCseq = this.incoming ? parseCSeq(this.incoming.request.headers.get('CSeq')!).seq : undefined;
    const u = this.unacked;
    if (!u || Number(rseq) !== u.rseq || Number(cseq) !== inviteCseq || method?.toUpperCase() !== 'INVITE') {
      this.note('info', `PRACK with RAck ${incoming.request.headers.get('RAck') ?? '(none)'} matches no unacknowledged reliable provisional: 481`, 'RFC 3262 §3');
      incoming.respond(481, { reason: 'Call/Transaction Does Not Exist' });
      return;
    }
    u.timer?.cancel();
    this.unacked = undefined;
    incoming.respond(200);
  }

  /**
   * An offer from the peer inside the dialog: a re-INVITE (RFC 3261 §14.2, hold and resume RFC 3264 §8.4) or
   * an UPDATE (RFC 3311 §5.2; without a body it only refreshes the session). The answer keeps our o= line
   * with the version one up (§8); an offer we cannot take leaves the session as it was (488).
   */
  private onOffer(incoming: IncomingRequest): void {
    const { env } = this;
    const request = incoming.request;
    const isInvite = request.method === 'INVITE';
    const answerHeaders: Array<[string, string]> = [['Contact', `<${env.ua.contact}>`], ['Allow', UE_ALLOW]];
    if (isInvite && this.state.state !== 'confirmed') {
      // §14.2: an INVITE while the first one is unanswered gets 500 with Retry-After.
      incoming.respond(500, { reason: 'Server Internal Error', headers: [['Retry-After', '1']] });
      return;
    }
    const refresh = this.state.state === 'confirmed' ? this.takeRefresh(incoming) : { ok: true as const, headers: [] };
    if (!refresh.ok) return;
    answerHeaders.push(...refresh.headers);
    if (request.body.length === 0) {
      if (isInvite) {
        this.refuseOffer(incoming, 'a re-INVITE without an offer is not supported by this UE');
        return;
      }
      incoming.dialog?.refreshTarget(request);
      incoming.respond(200, { headers: answerHeaders });
      refresh.apply?.();
      this.note('info', 'UPDATE without a body: session refreshed', refresh.apply ? 'RFC 3311 §5.2, RFC 4028 §9' : 'RFC 3311 §5.2');
      return;
    }
    if (this.offering) {
      // RFC 3261 §14.2 / RFC 3311 §5.2: our own offer is outstanding; the peer retries later.
      incoming.respond(491, { reason: 'Request Pending' });
      return;
    }
    if (!this.rtp || !this.localOrigin) {
      this.refuseOffer(incoming, 'no media session to renegotiate yet');
      return;
    }
    const offerText = request.body.toString('utf8');
    let answer;
    try {
      answer = answerOffer(offerText, { address: env.mediaAddress, port: this.rtp.local.rtpPort, origin: this.localOrigin, ...(this.supportedCodecs ? { codecs: this.supportedCodecs } : {}), ...this.srtpAnswer() }, env.random);
    } catch (e) {
      const why = e instanceof SdpError ? e.reason : (e as Error).message;
      incoming.respond(400, { reason: `Bad Request (${quote(why)})` });
      return;
    }
    if (!answer.ok) {
      incoming.respond(488, { reason: 'Not Acceptable Here', headers: [['Warning', answer.warning]] });
      return;
    }
    const qos = this.awaitingQos;
    const reserved = qos !== undefined && answer.preconditions && offererReserved(offerText);
    const sdp = reserved ? withPreconditionLines(answer.sdp, RESERVED_ANSWER_LINES) : answer.sdp;
    this.localOrigin = answer.origin;
    if (answer.srtp) this.srtpKeys = answer.srtp;
    incoming.dialog?.refreshTarget(request);
    const ok = incoming.respond(200, { headers: answerHeaders, body: sdp, contentType: 'application/sdp' });
    refresh.apply?.();
    this.applyMedia(peerOfAnswer(answer));
    if (isInvite) {
      this.note('info', `re-INVITE from the peer answered: our side of the stream is ${answer.direction}`, 'RFC 3264 §8.4');
      this.retransmitOk(incoming, ok, env.transactions.timers.t1, 0);
    }
    if (reserved && qos) {
      this.awaitingQos = undefined;
      this.note('info', 'both ends reserved (a=curr:qos local and remote sendrecv): the UE alerts', 'RFC 3312 §6, TS 24.229 §5.1.3.1');
      this.ring(this.incoming!.request.body.toString('utf8'), qos.policy);
    }
  }

  private refuseOffer(incoming: IncomingRequest, why: string): void {
    incoming.respond(488, { reason: 'Not Acceptable Here', headers: [['Warning', `399 ${host(this.env.mediaAddress)} "${quote(why)}"`]] });
  }

  /** §15.1.1: BYE through the dialog's route set; media stops at once, the call ends with the BYE's answer. */
  private async bye(reason: string): Promise<CallState> {
    const dialog = this.dialog!;
    this.clearTimers();
    const media = this.rtp?.stop(reason);
    let result: ClientResult | undefined;
    try {
      result = await dialog.request<ClientResult>('BYE', { headers: [['Reason', `SIP;cause=200;text="${quote(reason)}"`]] });
    } catch (e) {
      this.note('warn', `BYE could not be sent: ${(e as Error).message}`, 'RFC 3261 §15.1.1');
    }
    await media;
    return this.finish(result ? { status: result.response.status, reason: `${reason} (BYE answered ${result.response.status} ${result.response.reason})` } : { reason });
  }

  /** Stops media and timers, releases the dialog, and publishes the terminated state (once). */
  private async finish(end: { status?: number; reason: string }): Promise<CallState> {
    if (this.finishing) return this.finishing;
    this.finishing = this.finishNow(end);
    return this.finishing;
  }

  private async finishNow(end: { status?: number; reason: string }): Promise<CallState> {
    this.clearTimers();
    const state: CallState = { state: 'terminated', reason: end.reason, ...(end.status !== undefined ? { status: end.status } : {}) };
    if (this.dialog) {
      this.dialog.terminate();
      this.env.ua.detachDialog(this.dialog);
    }
    await this.rtp?.stop(end.reason).catch(() => undefined);
    this.subject.next(state);
    return state;
  }

  private clearTimers(): void {
    this.unacked?.timer?.cancel();
    this.unacked = undefined;
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
    this.retransmit?.cancel();
    this.retransmit = undefined;
    this.sessionTimer?.stop();
    this.mediaWatchdog?.stop();
  }

  private openMedia(): Promise<RtpSession> {
    const { env } = this;
    return RtpSession.open({ node: env.node, address: env.mediaAddress, ports: env.ports, clock: env.clock, random: env.random, bus: env.trace, mode: env.mediaMode ?? 'tone', toneHz: env.toneHz, ...(env.impairment ? { impairment: env.impairment } : {}) }).then(
      (rtp) => {
        // RFC 4733 §2.5.2: each digit once, at its end packet; the UE keeps them for the scenario to check.
        rtp.dtmf$.subscribe((d) => {
          this.note('info', `DTMF digit ${d.digit} received (${d.durationMs} ms)`, 'RFC 4733 §2.5.2');
          env.onDtmf?.(d);
        });
        return rtp;
      },
    );
  }

  private set(s: CallState): void {
    if (this.finishing) return;
    this.subject.next(s);
  }

  private note(level: 'info' | 'warn', text: string, clause?: string): void {
    this.env.trace.note({ node: this.env.node, level, text: `call ${this.callId ?? ''}: ${text}`, ...(clause ? { clause } : {}) });
  }
}

/** Whether an option tag is in a message's Supported or Require (RFC 3261 §20.37, §20.32); unreadable: no. */
function hasOption(m: SipRequest | SipResponse, header: 'Supported' | 'Require', tag: string): boolean {
  try {
    return parseOptionTags(m.headers, header).some((t) => t.toLowerCase() === tag);
  } catch {
    return false;
  }
}

/** Of our offer's formats, the chosen codec and its telephone-event, with our payload type numbers. */
function negotiatedCodecs(offer: LocalOffer, chosen: Codec): Codec[] {
  const voice = offer.codecs.find((c) => c.name === chosen.name && c.clockRate === chosen.clockRate);
  const te = offer.codecs.find((c) => c.name === 'telephone-event' && c.clockRate === chosen.clockRate);
  return voice ? (te ? [voice, te] : [voice]) : [...offer.codecs];
}

/** Whether an offer carries QoS precondition lines (RFC 3312 §5) on an audio stream. */
function offerHasPreconditions(sdp: string): boolean {
  try {
    return parseSessionDescription(sdp).media.some((m) => m.type === 'audio' && readPreconditions(m) !== undefined);
  } catch {
    return false;
  }
}

/** The stream an answer we wrote describes: the offerer's address and formats, our direction. */
function peerOfAnswer(answer: AcceptedAnswer): RtpPeer {
  const peer: RtpPeer = {
    address: answer.remote.address,
    port: answer.remote.port,
    rtcpAddress: answer.remote.rtcpAddress,
    rtcpPort: answer.remote.rtcpPort,
    codec: answer.chosen,
    localDirection: answer.direction,
  };
  if (answer.telephoneEvent !== undefined) peer.telephoneEvent = answer.telephoneEvent;
  if (answer.srtp) peer.srtp = answer.srtp;
  return peer;
}

/** The one a=crypto line of our answer (RFC 4568 §7.1.2). */
function answeredCrypto(sdp: string): CryptoAttribute[] {
  return cryptoAttributesByMedia(sdp).flat().map(parseCryptoAttribute);
}

/** The URI of a name-addr (`"Bob" <sip:bob@…>;tag=…`) for notes; the text itself when it is a bare URI. */
function peerUri(nameAddr: string): string {
  const open = nameAddr.indexOf('<');
  const close = nameAddr.indexOf('>', open + 1);
  if (open >= 0 && close > open) return nameAddr.slice(open + 1, close);
  return nameAddr.split(';')[0]!.trim();
}

function quote(s: string): string {
  return s.replace(/["\\]/g, "'").replace(/[\r\n]+/g, ' ');
}

function host(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
