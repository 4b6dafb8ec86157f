/**
 * The load generator of the call storm: one process acting for many registered IMS subscribers, callers and
 * callees alike. Each subscriber is a lean UE of its own — one UDP socket on its own loopback address (as a
 * handset has its own IP), the project's TransportLayer, TransactionLayer and UserAgent — registered with IMS
 * AKA through the whole core by the registration storm's code (register-client.ts). The simulated `Ue` class
 * (containers, reg-event subscriptions, tones, scenario state) would load the generator more than the core.
 *
 * One call A → B is the basic session of TS 24.228 §7 (TS 24.229 §5.1.2A.1 for the originating UE, §5.1.4 for
 * the terminating one), without preconditions:
 *
 *   A: INVITE (Route = P-CSCF + Service-Route, RFC 3608 §6; P-Preferred-Identity, RFC 3325 §9.2; SDP offer)
 *      → P-CSCF(A) → S-CSCF → I-CSCF → S-CSCF → P-CSCF(B) → B
 *   B: 180, then 200 with the SDP answer (RFC 3264 §6), Record-Route copied and Contact (RFC 3261 §12.1.1);
 *      the 200 is retransmitted until the ACK (§13.3.1.4)
 *   A: ACK along the dialog's route set (the Record-Route reversed, §12.1.2, §13.2.2.4), every 2xx
 *      retransmission acknowledged again (RFC 6026 §7.2); hold; BYE along the same route set (§15.1.1) → 200.
 *
 * With media, A opens its RtpSession before the offer and B before the answer (src/rtp, what the UEs use):
 * G.711 µ-law at 50 packets/s each way, straight between the two UEs as IMS media flows. Without media the
 * SDP still names a port from the UE's own range (allocated, never bound): the signalling is the same.
 */
import { Dialog } from '../../src/sip/dialog/dialog.js';
import { parseCSeq } from '../../src/sip/headers/cseq.js';
import type { SipResponse } from '../../src/sip/message.js';
import type { FinalCause } from '../../src/sip/transaction/index.js';
import { nextHop, type DialogUsage, type IncomingRequest } from '../../src/sip/ua/index.js';
import { answerOffer, applyAnswer, createOffer, SdpError, type CodecName } from '../../src/sdp/index.js';
import { PortAllocator, RtpSession, type PortRange } from '../../src/rtp/index.js';
import { TraceBus } from '../../src/trace/events.js';
import { ACCESS_NETWORK_INFO } from '../../src/ue/registration.js';
import { SystemClock, type Clock, type TimerHandle } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { closeStormEndpoint, openStormEndpoint, registerAt, type StormEndpoint } from './register-client.js';
import type { AttemptOutcome } from './stepper.js';
import type { StormSubscriber } from './topology.js';

/** What the storm's UEs allow (RFC 3261 §20.5): a basic call, nothing more. */
const ALLOW = 'INVITE, ACK, CANCEL, BYE';
/** A small offer: G.711 µ-law and DTMF events (RFC 3551 §6, RFC 4733). */
const CODECS: readonly CodecName[] = ['PCMU', 'telephone-event'];
/** RTP port pairs of each UE: below Linux's ephemeral range, where the UEs' SIP sockets live. */
export const STORM_RTP_PORTS: PortRange = { min: 20000, max: 29999 };

export interface CallStormClientOptions {
  pcscf: { address: string; port: number };
  domain: string;
  /** The loopback address of UE number k (callers first, then callees): each UE has one of its own. */
  addressOf: (k: number) => string;
  seed?: number;
  clock?: Clock;
}

/** A confirmed call, while it is held: the media of both ends when the call has media. */
export interface LiveCall {
  callId: string;
  caller?: RtpSession;
  callee?: RtpSession;
}

export interface CallAttemptOptions {
  /** Runs once the call is confirmed (ACK sent); the BYE follows when it resolves. */
  hold: (live: LiveCall) => Promise<void>;
}

export interface CallOutcome extends AttemptOutcome {
  /** INVITE's final status (0 when none). */
  status: number;
  /** BYE sent → its 200 (ms), when the call got that far. */
  byeMs?: number;
}

interface StormUe {
  sub: StormSubscriber;
  user: string;
  ep: StormEndpoint;
  ports: PortAllocator;
  /** P-CSCF, then the Service-Route of the registration's 200. */
  routeSet: string[];
}

export class CallStormClient {
  private readonly clock: Clock;
  private readonly random: SeededRandom;
  private readonly trace: TraceBus;
  private readonly callers: StormUe[] = [];
  private readonly callees: StormUe[] = [];
  /** The callee's RtpSession by Call-ID, so that a media call's holder sees both ends. */
  private readonly calleeMedia = new Map<string, RtpSession>();
  /** Whether calls carry RTP (both ends look at it: the callee opens its session before answering). */
  media = false;
  /** Calls the callee side could not complete on its own (no ACK within 64·T1, bad offer …), by reason. */
  readonly calleeProblems: Record<string, number> = {};
  private closed = false;

  constructor(private readonly options: CallStormClientOptions) {
    this.clock = options.clock ?? new SystemClock();
    this.random = new SeededRandom(options.seed ?? 13);
    // An unobserved bus: the generator reports like every node, at the price of a counter per packet.
    this.trace = new TraceBus(this.clock);
  }

  get pairs(): number {
    return this.callers.length;
  }

  /** Opens one endpoint per subscriber (callers[i] calls callees[i]); callees answer INVITEs from then on. */
  async start(callers: readonly StormSubscriber[], callees: readonly StormSubscriber[]): Promise<void> {
    if (callers.length !== callees.length || callers.length === 0) throw new Error('the call storm needs as many callees as callers, at least one');
    let k = 0;
    for (const [list, subs] of [
      [this.callers, callers],
      [this.callees, callees],
    ] as const) {
      for (const sub of subs) {
        const address = this.options.addressOf(k++);
        const user = sub.impi.slice(0, sub.impi.indexOf('@'));
        const name = `storm-${user}`;
        const ep = await openStormEndpoint({ name, address, pcscf: this.options.pcscf, clock: this.clock, random: this.random.fork(name), trace: this.trace, user });
        list.push({ sub, user, ep, ports: new PortAllocator(STORM_RTP_PORTS), routeSet: [] });
      }
    }
    for (const ue of this.callees) ue.ep.ua.onRequest('INVITE', (incoming) => this.answer(ue, incoming));
  }

  /**
   * Registers every UE (initial IMS AKA registration, `concurrency` at a time) and keeps its route set.
   * Rejects with the first failure: calls between unregistered UEs would measure nothing.
   */
  async registerAll(concurrency = 16, progress?: (done: number) => void): Promise<void> {
    const all = [...this.callers, ...this.callees];
    let next = 0;
    let done = 0;
    const pcscfRoute = `<sip:${this.options.pcscf.address}:${this.options.pcscf.port};lr>`;
    const worker = async (): Promise<void> => {
      while (next < all.length) {
        const ue = all[next++]!;
        const r = await registerAt(ue.ep, ue.sub, { domain: this.options.domain, random: this.random });
        if (!r.ok) throw new Error(`registration of ${ue.sub.impu} failed: ${r.reason}`);
        if (!r.serviceRoute || r.serviceRoute.length === 0) throw new Error(`the 200 for ${ue.sub.impu} had no Service-Route (RFC 3608): no S-CSCF to call through`);
        // TS 24.229 §5.1.2A.1.1: requests after registration carry the P-CSCF and the Service-Route as Route.
        ue.routeSet = [pcscfRoute, ...r.serviceRoute];
        if (++done % 100 === 0) progress?.(done);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, all.length) }, worker));
  }

  /** Call number `i`: caller i mod N calls callee i mod N. Never rejects: a failure is an outcome. */
  async call(i: number, o: CallAttemptOptions): Promise<CallOutcome> {
    if (this.closed || this.callers.length === 0) return { ok: false, latencyMs: 0, status: 0, reason: 'the call storm client is not running' };
    const a = this.callers[i % this.callers.length]!;
    const b = this.callees[i % this.callees.length]!;
    const { ua, transactions } = a.ep;
    let rtp: RtpSession | undefined;
    let port: number | undefined;
    let dialog: Dialog | undefined;
    let latencyMs = 0;
    let status = 0;
    const fail = (reason: string): CallOutcome => ({ ok: false, latencyMs, status, reason });
    try {
      if (this.media) rtp = await this.openRtp(a);
      else port = a.ports.allocate();
      const offer = createOffer({ address: a.ep.address, port: rtp?.local.rtpPort ?? port!, codecs: CODECS }, this.random);
      const request = ua.createRequest('INVITE', b.sub.impu, {
        from: `<${a.sub.impu}>`,
        to: `<${b.sub.impu}>`,
        routeSet: a.routeSet,
        headers: [
          ['P-Preferred-Identity', `<${a.sub.impu}>`],
          ['P-Access-Network-Info', ACCESS_NETWORK_INFO],
          ['Allow', ALLOW],
          ['Accept', 'application/sdp'],
        ],
        body: offer.sdp,
        contentType: 'application/sdp',
      });
      const cseq = parseCSeq(request.headers.get('CSeq')!).seq;
      const destination = nextHop(request, ua.options.outboundProxy, () => undefined);
      let ringing = false;
      const sentAt = performance.now();
      const final = await new Promise<{ response: SipResponse; cause: FinalCause; error?: string }>((resolve) => {
        transactions.sendRequest(request, destination, {
          provisional: (r) => {
            if (r.status === 180) ringing = true;
          },
          final: (r, cause) => {
            if (r.status < 200 || r.status >= 300) return resolve({ response: r, cause });
            try {
              const formed = Dialog.asUac(request, r, ua.contact);
              if (dialog === undefined) {
                dialog = formed;
                latencyMs = performance.now() - sentAt;
                resolve({ response: r, cause });
              } else {
                // RFC 6026 §7.2: each 2xx that reaches us is acknowledged, a retransmission of ours again.
                void ua.ack(formed, cseq).catch(() => undefined);
              }
            } catch (e) {
              resolve({ response: r, cause, error: `unusable 2xx: ${(e as Error).message}` });
            }
          },
        });
      });
      status = final.response.status;
      if (final.error) return fail(final.error);
      if (dialog === undefined) return fail(`${status} ${final.response.reason}${final.cause === 'response' ? '' : ` (${final.cause})`}`);
      const established: Dialog = dialog;
      ua.attachDialog(established, this.callerUsage(established));
      const live: LiveCall = { callId: established.callId };
      if (rtp) {
        // RFC 3264 §7: the answer says where to send; an answer we cannot use still gets its ACK below (§13.2.2.4).
        try {
          rtp.start(applyAnswer(offer, final.response.body.toString('utf8')).remote);
        } finally {
          await ua.ack(established, cseq);
        }
        live.caller = rtp;
        const callee = this.calleeMedia.get(established.callId);
        if (callee) live.callee = callee;
      } else {
        await ua.ack(established, cseq);
      }
      await o.hold(live);
      const byeAt = performance.now();
      const bye = await ua.sendInDialog(established, established.createRequest('BYE'));
      const byeMs = performance.now() - byeAt;
      if (bye.response.status !== 200) return { ...fail(`BYE answered ${bye.response.status} ${bye.response.reason}${bye.cause === 'response' ? '' : ` (${bye.cause})`}`), byeMs };
      // TS 186 008-1 judges the whole scenario: a call that was never alerted did not go as specified.
      if (!ringing) return { ...fail('no 180 (Ringing) before the 200'), byeMs };
      return { ok: true, latencyMs, status, byeMs };
    } catch (e) {
      return fail(e instanceof SdpError ? `SDP: ${e.reason}` : (e as Error).message);
    } finally {
      if (dialog) {
        dialog.terminate();
        ua.detachDialog(dialog);
      }
      if (rtp) await rtp.stop('call ended').catch(() => undefined);
      if (port !== undefined) a.ports.release(port);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.calleeMedia.values()].map((s) => s.stop('storm closed').catch(() => undefined)));
    this.calleeMedia.clear();
    await Promise.all([...this.callers, ...this.callees].map((ue) => closeStormEndpoint(ue.ep).catch(() => undefined)));
    this.callers.length = 0;
    this.callees.length = 0;
  }

  // ------------------------------------------------------------------ the callee

  /** TS 24.229 §5.1.4 without preconditions: 180, then 200 with the answer, at once (an auto-answering UE). */
  private answer(ue: StormUe, incoming: IncomingRequest): void {
    void this.answerAsync(ue, incoming).catch((e: unknown) => {
      this.problem(`answering failed: ${(e as Error).message}`);
      incoming.respond(500, { reason: 'Server Internal Error' });
    });
  }

  private async answerAsync(ue: StormUe, incoming: IncomingRequest): Promise<void> {
    const request = incoming.request;
    let rtp: RtpSession | undefined;
    let port: number | undefined;
    const release = async () => {
      if (rtp) {
        this.calleeMedia.delete(request.headers.get('Call-ID') ?? '');
        await rtp.stop('call ended').catch(() => undefined);
      }
      if (port !== undefined) ue.ports.release(port);
    };
    if (this.media) rtp = await this.openRtp(ue);
    else port = ue.ports.allocate();
    let answer;
    try {
      answer = answerOffer(request.body.toString('utf8'), { address: ue.ep.address, port: rtp?.local.rtpPort ?? port!, codecs: CODECS }, this.random);
    } catch (e) {
      await release();
      // RFC 3261 §21.4.1: an offer that cannot be read is a bad request.
      this.problem('unreadable SDP offer');
      incoming.respond(400, { reason: `Bad Request (${e instanceof SdpError ? e.reason : (e as Error).message})` });
      return;
    }
    if (!answer.ok) {
      await release();
      this.problem('offer not acceptable');
      incoming.respond(488, { headers: [['Warning', answer.warning]] });
      return;
    }
    // RFC 3261 §12.1.1: a dialog-creating response copies the Record-Route and carries our Contact.
    const headers: Array<[string, string]> = [
      ...request.headers.getAll('Record-Route').map((v): [string, string] => ['Record-Route', v]),
      ['Contact', `<${ue.ep.ua.contact}>`],
      ['Allow', ALLOW],
    ];
    incoming.respond(180, { headers });
    const dialog = Dialog.asUas(request, incoming.localTag, ue.ep.ua.contact);
    if (rtp) {
      rtp.start(answer.remote);
      this.calleeMedia.set(dialog.callId, rtp);
    }
    let retransmit: TimerHandle | undefined;
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      retransmit?.cancel();
      dialog.terminate();
      ue.ep.ua.detachDialog(dialog);
      await release();
    };
    const usage: DialogUsage = {
      methods: ['BYE'],
      onRequest: (bye) => {
        // RFC 3261 §15.1.2: the UAS of a BYE answers 200 and ends the session.
        bye.respond(200);
        void end();
      },
      onAck: () => {
        retransmit?.cancel();
        retransmit = undefined;
      },
    };
    ue.ep.ua.attachDialog(dialog, usage);
    const ok = incoming.respond(200, { headers, body: answer.sdp, contentType: 'application/sdp' });
    // RFC 3261 §13.3.1.4: the 2xx is resent at T1, 2·T1 … capped at T2 until the ACK; none within 64·T1 ends
    // the session with a BYE.
    const { t1, t2 } = ue.ep.transactions.timers;
    const again = (interval: number, elapsed: number) => {
      retransmit = this.clock.setTimeout(() => {
        if (ended) return;
        if (elapsed + interval >= 64 * t1) {
          this.problem('no ACK for the 200 within 64·T1');
          void ue.ep.ua
            .sendInDialog(dialog, dialog.createRequest('BYE'))
            .catch(() => undefined)
            .finally(() => void end());
          return;
        }
        incoming.transaction.respond(ok);
        again(Math.min(2 * interval, t2), elapsed + interval);
      }, interval);
    };
    again(t1, 0);
  }

  private callerUsage(dialog: Dialog): DialogUsage {
    return {
      methods: ['BYE'],
      // The callee hangs up only when our ACK never came (§13.3.1.4): answer it; the holder's BYE then gets 481.
      onRequest: (bye) => {
        bye.respond(200);
        dialog.terminate();
      },
    };
  }

  private openRtp(ue: StormUe): Promise<RtpSession> {
    return RtpSession.open({ node: ue.ep.ua.node, address: ue.ep.address, ports: ue.ports, clock: this.clock, random: this.random, bus: this.trace, mode: 'tone' });
  }

  private problem(why: string): void {
    this.calleeProblems[why] = (this.calleeProblems[why] ?? 0) + 1;
  }
}
