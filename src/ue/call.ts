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
import { answerOffer, applyAnswer, createOffer, parseSessionDescription, SdpError, type CodecName, type LocalOffer } from '../sdp/index.js';
import { RtpSession, type PortAllocator, type RtpPeer, type RtpSessionStatistics } from '../rtp/index.js';

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
  /** The IMPU this UE calls as (P-Preferred-Identity). */
  identity: string;
  /** Headers every originating request of this UE carries (P-Access-Network-Info). */
  accessHeaders: ReadonlyArray<readonly [string, string]>;
}

export interface OutgoingCallOptions {
  /** Preloaded route set (P-CSCF, then the Service-Route). */
  routeSet: readonly string[];
  /** Codecs to offer, in preference order (default PCMU, PCMA, AMR-WB, opus, telephone-event). */
  codecs?: readonly CodecName[];
  /** Hang up this long after the call is confirmed. */
  durationMs?: number;
}

/** How the UE answers (the topology's `answer` and `answerAfter`). */
export interface AnswerPolicy {
  answer: 'auto' | 'busy' | 'noanswer';
  answerAfterMs: number;
  codecs?: readonly CodecName[];
}

/** Methods a UE allows (RFC 3261 §20.5), advertised in its INVITE and answers. */
export const UE_ALLOW = 'INVITE, ACK, CANCEL, BYE, MESSAGE, NOTIFY';

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
    this.offer = createOffer({ address: env.mediaAddress, port: this.rtp.local.rtpPort, ...(options.codecs ? { codecs: options.codecs } : {}) }, env.random);
    const request = env.ua.createRequest('INVITE', this.peer, {
      routeSet: options.routeSet,
      headers: [['P-Preferred-Identity', `<${env.identity}>`], ...env.accessHeaders, ['Allow', UE_ALLOW], ['Accept', 'application/sdp']],
      body: this.offer.sdp,
      contentType: 'application/sdp',
    });
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
    if (r.status === 180) this.set({ state: 'ringing', status: 180, reason: r.reason });
    else if (r.status > 100) this.set({ state: 'early', status: r.status, reason: r.reason });
  }

  private async onFinal(r: SipResponse, cause: FinalCause, options: OutgoingCallOptions): Promise<void> {
    const request = this.inviteRequest!;
    const cseq = parseCSeq(request.headers.get('CSeq')!).seq;
    if (r.status < 200 || r.status >= 300) {
      const warning = r.headers.get('Warning');
      const why = cause === 'response' ? r.reason : `${r.reason} (${cause})`;
      await this.finish({ status: r.status, reason: warning ? `${why}; Warning: ${warning}` : why });
      return;
    }
    const dialog = Dialog.asUac(request, r, this.env.ua.contact);
    // §13.2.2.4: every 2xx is acknowledged; a retransmission of the one we took gets the ACK again.
    if (this.dialog) {
      if (dialog.key === this.dialog.key) await this.env.ua.ack(this.dialog, cseq);
      else await this.releaseStray(dialog, cseq);
      return;
    }
    if (this.finishing) {
      await this.releaseStray(dialog, cseq);
      return;
    }
    this.dialog = dialog;
    this.env.ua.attachDialog(dialog, this.usage());
    await this.env.ua.ack(dialog, cseq);
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
    this.rtp!.start(peer);
    this.set({ state: 'confirmed', status: r.status, reason: r.reason });
    if (options.durationMs !== undefined) {
      this.timers.push(this.env.clock.setTimeout(() => void this.hangup('call duration reached'), options.durationMs));
    }
  }

  private peerFromAnswer(r: SipResponse): RtpPeer {
    if (r.body.length === 0) throw new SdpError('2xx without an SDP answer to our offer');
    const applied = applyAnswer(this.offer!, r.body.toString('utf8'));
    // We may receive with the numbers of our own offer, send with the answerer's (RFC 3264 §6.1).
    const ours = this.offer!.codecs.filter((c) => (c.name === applied.chosen.name && c.clockRate === applied.chosen.clockRate) || c.name === 'telephone-event');
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
    return peer;
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
        const last = incoming.transaction.lastResponse;
        void this.finish({ status: last?.status ?? 487, reason: last?.status === 487 ? 'cancelled by the caller' : 'INVITE transaction ended' });
      }
    });
    // TS 24.229 §5.1.3.1 / RFC 3264 §5: the simulated UE needs the offer in the INVITE.
    const contentType = (request.headers.get('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (request.body.length === 0) {
      this.refuse(488, 'Not Acceptable Here', `399 ${host(env.mediaAddress)} "INVITE without an SDP offer: this UE does not send the offer in a 2xx"`);
      return;
    }
    if (contentType !== 'application/sdp') {
      this.refuse(415, 'Unsupported Media Type', undefined, [['Accept', 'application/sdp']]);
      return;
    }
    if (policy.answer === 'busy') {
      this.refuse(486, 'Busy Here');
      return;
    }
    const offerText = request.body.toString('utf8');
    // A trial answer decides 400/488 before any socket is bound, so a refused call leaves no stream behind.
    try {
      parseSessionDescription(offerText);
      const trial = answerOffer(offerText, { address: env.mediaAddress, port: 9, ...(policy.codecs ? { codecs: policy.codecs } : {}) }, PROBE_RANDOM);
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
    incoming.respond(180, { headers: this.dialogHeaders() });
    this.set({ state: 'ringing', status: 180, reason: 'Ringing' });
    if (policy.answer === 'noanswer') return;
    this.timers.push(env.clock.setTimeout(() => void this.accept(offerText, policy).catch((e: unknown) => this.failAnswer(e)), policy.answerAfterMs));
  }

  /** RFC 3261 §13.3.1.4: the 2xx with the SDP answer, then media, then 2xx retransmissions until the ACK. */
  private async accept(offerText: string, policy: AnswerPolicy): Promise<void> {
    const { env } = this;
    const incoming = this.incoming!;
    if (this.state.state !== 'ringing' || incoming.finalResponse || incoming.transaction.state !== 'proceeding') return;
    const rtp = await this.openMedia();
    if (this.finishing) {
      await rtp.stop('call ended before it was answered');
      return;
    }
    this.rtp = rtp;
    if (this.state.state !== 'ringing' || incoming.transaction.state !== 'proceeding') {
      await this.finish({ status: incoming.transaction.lastResponse?.status ?? 487, reason: 'cancelled by the caller' });
      return;
    }
    const answer = answerOffer(offerText, { address: env.mediaAddress, port: this.rtp.local.rtpPort, ...(policy.codecs ? { codecs: policy.codecs } : {}) }, env.random);
    if (!answer.ok) {
      this.refuse(488, 'Not Acceptable Here', answer.warning);
      return;
    }
    this.okResponse = incoming.respond(200, { headers: this.dialogHeaders(), body: answer.sdp, contentType: 'application/sdp' });
    this.dialog = Dialog.asUas(incoming.request, incoming.localTag, env.ua.contact, 'confirmed');
    env.ua.attachDialog(this.dialog, this.usage());
    const peer: RtpPeer = {
      address: answer.remote.address,
      port: answer.remote.port,
      rtcpAddress: answer.remote.rtcpAddress,
      rtcpPort: answer.remote.rtcpPort,
      codec: answer.chosen,
      localDirection: answer.direction,
    };
    if (answer.telephoneEvent !== undefined) peer.telephoneEvent = answer.telephoneEvent;
    this.rtp.start(peer);
    this.set({ state: 'confirmed', status: 200, reason: 'OK' });
    this.retransmitOk(env.transactions.timers.t1, 0);
  }

  /** §13.3.1.4: resend the 2xx at T1, 2·T1 … capped at T2 until the ACK; without one after 64·T1, BYE. */
  private retransmitOk(interval: number, elapsed: number): void {
    const { t1, t2 } = this.env.transactions.timers;
    this.retransmit = this.env.clock.setTimeout(() => {
      const total = elapsed + interval;
      if (!this.okResponse || this.state.state !== 'confirmed') return;
      if (total >= 64 * t1) {
        this.note('warn', 'no ACK for our 2xx within 64·T1: the session is ended with BYE', 'RFC 3261 §13.3.1.4');
        void this.hangup('no ACK received');
        return;
      }
      // Over a reliable transport the 2xx is not resent, only the ACK awaited.
      if (this.incoming!.received.source.transport === 'udp') this.incoming!.transaction.respond(this.okResponse);
      this.retransmitOk(Math.min(2 * interval, t2), total);
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

  // ------------------------------------------------------------------ both sides

  private usage(): DialogUsage {
    return {
      methods: ['BYE'],
      onRequest: (incoming) => {
        // §15.1.2: the UAS of a BYE answers 200 and ends the session; media stops with it.
        incoming.respond(200);
        this.note('info', 'BYE from the peer: call ended', 'RFC 3261 §15.1.2');
        void this.finish({ reason: 'hung up by the peer' });
      },
      onAck: () => {
        this.retransmit?.cancel();
        this.retransmit = undefined;
      },
    };
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
    for (const t of this.timers) t.cancel();
    this.timers.length = 0;
    this.retransmit?.cancel();
    this.retransmit = undefined;
  }

  private openMedia(): Promise<RtpSession> {
    const { env } = this;
    return RtpSession.open({ node: env.node, address: env.mediaAddress, ports: env.ports, clock: env.clock, random: env.random, bus: env.trace, mode: 'tone', toneHz: env.toneHz });
  }

  private set(s: CallState): void {
    if (this.finishing) return;
    this.subject.next(s);
  }

  private note(level: 'info' | 'warn', text: string, clause?: string): void {
    this.env.trace.note({ node: this.env.node, level, text: `call ${this.callId ?? ''}: ${text}`, ...(clause ? { clause } : {}) });
  }
}

function quote(s: string): string {
  return s.replace(/["\\]/g, "'").replace(/[\r\n]+/g, ' ');
}

function host(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
