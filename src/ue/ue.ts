/**
 * A simulated UE (kind 'ue'): its own SIP stack on its own loopback address, a USIM, and the IMS
 * registration client of TS 24.229 §5.1.1. The P-CSCF is its outbound proxy (§5.1.1.1: the UE knows the
 * P-CSCF address, here from the topology's directory).
 */
import 'reflect-metadata';
import { inject, injectable } from 'inversify';
import { BehaviorSubject, type Observable } from 'rxjs';
import type { Directory } from '../topology/directory.js';
import type { NetworkNode } from '../topology/network-node.js';
import type { NodeSpec } from '../topology/node-spec.js';
import { TOKENS } from '../topology/tokens.js';
import type { TraceBus } from '../trace/events.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { TransactionLayer } from '../sip/transaction/index.js';
import type { SipTransportLayer, TransportAddress } from '../sip/transport/types.js';
import { LinkImpairment } from '../sip/transport/impairment.js';
import { hostPort } from '../sip/transport/address.js';
import { UserAgent } from '../sip/ua/index.js';
import { PortAllocator } from '../rtp/ports.js';
import type { CodecName } from '../sdp/codecs.js';
import type { MediaMode } from '../rtp/session.js';
import { ACCESS_NETWORK_INFO, ImsRegistration, type UeState } from './registration.js';
import { callSettings, ueConfig, type UeCallSettings, type UeConfig } from './settings.js';
import { Call, UE_SESSION_OPTIONS, type CallEnvironment } from './call.js';
import { mediaPlan, type MediaPlan } from './media-plan.js';
import { receiveMessage, sendMessage, type InstantMessage, type MessageOutcome } from './messaging.js';

/** Options of Ue.call. */
export interface CallOptions {
  /** Hang up this long after the answer; default: the call lasts until hangup(). */
  durationMs?: number;
  /** Offer only this codec (and telephone-event); default: PCMU, PCMA, AMR-WB, opus, telephone-event. */
  codec?: string;
  /** Route set instead of P-CSCF + Service-Route; [] sends to the outbound proxy without Route (tests). */
  routeSet?: readonly string[];
  /** QoS preconditions (RFC 3312); default: the UE's `preconditions` setting. */
  preconditions?: boolean;
  /** Max-Forwards of the INVITE (default 70, RFC 3261 §8.1.1.6). */
  maxForwards?: number;
  /** Claim this identity in P-Preferred-Identity instead of our own IMPU (RFC 3325 §9.2). */
  preferredIdentity?: string;
  /** Session interval to ask for, seconds (RFC 4028 §7.1); default: the UE's `sessionExpires` setting. */
  sessionExpires?: number;
}

const OFFERABLE: readonly CodecName[] = ['PCMU', 'PCMA', 'AMR-WB', 'opus'];
/** How long stop() waits for the BYEs and CANCELs of open calls before releasing them locally. */
const STOP_GRACE_MS = 4000;

@injectable()
export class Ue implements NetworkNode {
  readonly kind = 'ue' as const;
  readonly name: string;
  readonly config: UeConfig;
  /** The UA core, for calls and messages of later waves; undefined before start(). */
  ua: UserAgent | undefined;
  private registration: ImsRegistration | undefined;
  private started = false;
  private readonly stateSubject = new BehaviorSubject<UeState>({ state: 'idle' });
  readonly callSettings: UeCallSettings;
  /** RTP ports and tone of this UE (one block per UE, see media-plan.ts). */
  readonly media: MediaPlan;
  private readonly ports: PortAllocator;
  private readonly activeCalls = new Set<Call>();
  private readonly inbox: InstantMessage[] = [];
  private lastFinal: number | undefined;
  private digits = '';
  private lastIncomingFrom: string | undefined;
  /** The media side of the access link, made on first use (false: the UE has no impairment). */
  private mediaLink: LinkImpairment | false | undefined;
  /**
   * What an answered call sends back: the UE's tone (scenarios), or an echo of the caller's audio, which
   * `imslab serve` chooses so that a person at a softphone hears the round trip through the core.
   */
  answerMedia: MediaMode = 'tone';

  constructor(
    @inject(TOKENS.NodeSpec) private readonly spec: NodeSpec,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Random) private readonly random: Random,
    @inject(TOKENS.TraceBus) private readonly trace: TraceBus,
    @inject(TOKENS.Directory) private readonly directory: Directory,
    @inject(TOKENS.Transport) private readonly transport: SipTransportLayer,
    @inject(TOKENS.Transactions) private readonly transactions: TransactionLayer,
  ) {
    this.name = spec.name;
    this.config = ueConfig(spec.name, spec.settings, random);
    this.callSettings = callSettings(spec.name, spec.settings);
    this.media = mediaPlan(spec.name, directory.ofKind('ue').findIndex((e) => e.name === spec.name));
    this.ports = new PortAllocator(this.media.ports);
  }

  /** The registration state; idle until register(). */
  get state(): UeState {
    return this.stateSubject.value;
  }

  /** Every registration state change (TS 24.229 §5.1.1), current value first. */
  get state$(): Observable<UeState> {
    return this.stateSubject.asObservable();
  }

  /** The route set for requests after registration: P-CSCF then Service-Route (RFC 3608 §6). */
  get preloadedRoute(): string[] {
    return this.registration?.preloadedRoute ?? [];
  }

  async start(): Promise<void> {
    if (this.started) throw new Error(`UE ${this.name} already started`);
    this.started = true;
    const t = this.transport as SipTransportLayer & { start?: () => Promise<void> };
    if (typeof t.start === 'function' && t.listening.length === 0) await t.start();
    const { config } = this;
    const local = this.transport.localAddress(config.transport);
    const pcscf = this.directory.get(config.pcscf);
    const port = pcscf.ports[config.transport];
    if (port === undefined) throw new Error(`UE ${this.name}: P-CSCF ${config.pcscf} does not listen on ${config.transport.toUpperCase()}`);
    const outboundProxy: TransportAddress = { transport: config.transport, address: pcscf.address, port };
    const contactUri = `sip:${config.contactUser}@${hostPort(local.address, local.port)};transport=${config.transport}`;
    this.ua = new UserAgent({
      node: this.name,
      transactions: this.transactions,
      clock: this.clock,
      random: this.random,
      trace: this.trace,
      contact: contactUri,
      identity: `<${config.impu}>`,
      outboundProxy,
      resolveHost: (h) => this.directory.resolveHost(h)?.address,
      supported: ['path', 'sec-agree', 'outbound', ...UE_SESSION_OPTIONS],
      product: 'imslab-ue',
    });
    this.registration = new ImsRegistration({
      node: this.name,
      ua: this.ua,
      clock: this.clock,
      random: this.random,
      trace: this.trace,
      config,
      domain: this.spec.domain,
      contactUri,
      localPort: local.port,
      pcscfRoute: `<${this.directory.sipUri(config.pcscf, { transport: config.transport, lr: true })}>`,
      state: this.stateSubject,
    });
    const ua = this.ua;
    ua.onRequest('INVITE', (incoming) => {
      this.lastIncomingFrom = incoming.request.headers.get('P-Asserted-Identity') ?? incoming.request.headers.get('From');
      const call = Call.incoming({ ...this.callEnvironment(), mediaMode: this.answerMedia }, incoming, this.callSettings);
      this.track(call, false);
    });
    ua.onRequest('MESSAGE', (incoming) => receiveMessage(incoming, this.inbox, this.clock, this.trace, this.name));
    // RFC 3261 §15.1.2: a BYE for no dialog of ours is 481 (with a To tag the UA core says so itself).
    ua.onRequest('BYE', (incoming) => incoming.respond(481));
    this.trace.note({ node: this.name, level: 'info', text: `UE ${config.impu} (${config.impi}) up at ${contactUri}, P-CSCF ${config.pcscf}`, clause: 'TS 24.229 §5.1.1.1' });
  }

  register(): Promise<void> {
    if (!this.registration) return Promise.reject(new Error(`UE ${this.name} is not started`));
    return this.registration.register();
  }

  deregister(): Promise<void> {
    if (!this.registration) return Promise.reject(new Error(`UE ${this.name} is not started`));
    return this.registration.deregister();
  }

  /**
   * Calls `target` (a sip:, sips: or tel: URI) as TS 24.229 §5.1.2A.1 / TS 24.228 §7 describe: INVITE with
   * an SDP offer through the P-CSCF and the Service-Route. Returns at once; follow `call.state$`.
   */
  call(target: string, options: CallOptions = {}): Call {
    if (!this.ua) throw new Error(`UE ${this.name} is not started`);
    if (!/^(sips?|tel):/i.test(target)) throw new Error(`call target ${JSON.stringify(target)} is not a sip:, sips: or tel: URI`);
    let codecs: CodecName[] | undefined;
    if (options.codec !== undefined) {
      const codec = OFFERABLE.find((c) => c.toLowerCase() === options.codec!.toLowerCase());
      if (!codec) throw new Error(`codec ${options.codec} cannot be offered by a simulated UE (known: ${OFFERABLE.join(', ')})`);
      codecs = [codec, 'telephone-event'];
    }
    const env = this.callEnvironment();
    if (options.sessionExpires !== undefined) {
      if (!Number.isInteger(options.sessionExpires) || options.sessionExpires < 1) throw new Error(`sessionExpires ${options.sessionExpires} is not a whole number of seconds above 0 (RFC 4028 §4)`);
      env.sessionTimer = { sessionExpiresS: options.sessionExpires, minSeS: Math.min(options.sessionExpires, this.callSettings.sessionTimer.minSeS) };
    }
    const call = Call.outgoing(env, target, {
      routeSet: options.routeSet ?? this.preloadedRoute,
      ...(codecs ? { codecs } : {}),
      ...(options.durationMs !== undefined ? { durationMs: options.durationMs } : {}),
      preconditions: options.preconditions ?? this.callSettings.preconditions,
      srtp: this.callSettings.srtp,
      ...(options.maxForwards !== undefined ? { maxForwards: options.maxForwards } : {}),
      ...(options.preferredIdentity !== undefined ? { preferredIdentity: options.preferredIdentity } : {}),
    });
    this.track(call, true);
    return call;
  }

  /** Sends a page-mode MESSAGE (RFC 3428) to a sip:/tel: URI; resolves with the final status. */
  async message(target: string, text: string, options: { routeSet?: readonly string[] } = {}): Promise<MessageOutcome> {
    if (!this.ua) throw new Error(`UE ${this.name} is not started`);
    if (!/^(sips?|tel):/i.test(target)) throw new Error(`message target ${JSON.stringify(target)} is not a sip:, sips: or tel: URI`);
    const outcome = await sendMessage({
      ua: this.ua,
      target,
      text,
      identity: this.config.impu,
      routeSet: options.routeSet ?? this.preloadedRoute,
      accessHeaders: [['P-Access-Network-Info', ACCESS_NETWORK_INFO]],
    });
    this.lastFinal = outcome.status;
    return outcome;
  }

  /** Calls not yet terminated, both directions. */
  get calls(): Call[] {
    return [...this.activeCalls];
  }

  /** MESSAGEs received and answered with 200, oldest first. */
  get messagesReceived(): readonly InstantMessage[] {
    return this.inbox;
  }

  /** The final status of the last INVITE or MESSAGE this UE sent (undefined before any). */
  get lastStatus(): number | undefined {
    return this.lastFinal;
  }

  /** DTMF digits received on this UE's calls (RFC 4733), in order, all calls together. */
  get dtmfReceived(): string {
    return this.digits;
  }

  /** The caller of the last incoming INVITE as the network asserted it (P-Asserted-Identity, else From). */
  get lastCaller(): string | undefined {
    return this.lastIncomingFrom;
  }

  /** The one confirmed call a hold, resume or DTMF applies to; an error names why there is none. */
  confirmedCall(): Call {
    const confirmed = this.calls.filter((c) => c.state.state === 'confirmed');
    if (confirmed.length === 0) throw new Error(`${this.name} has no confirmed call`);
    if (confirmed.length > 1) throw new Error(`${this.name} has ${confirmed.length} confirmed calls; which one is meant is ambiguous`);
    return confirmed[0]!;
  }

  /** Hangs up every open call (BYE, CANCEL or 603); resolves with how many there were. */
  async hangup(reason = 'hung up by the user'): Promise<number> {
    const open = this.calls;
    await Promise.all(open.map((c) => c.hangup(reason)));
    return open.length;
  }

  private callEnvironment(): CallEnvironment {
    const link = this.linkImpairment();
    return {
      node: this.name,
      ua: this.ua!,
      transactions: this.transactions,
      clock: this.clock,
      random: this.random,
      trace: this.trace,
      mediaAddress: this.spec.address,
      ports: this.ports,
      toneHz: this.media.toneHz,
      identity: this.config.impu,
      accessHeaders: [['P-Access-Network-Info', ACCESS_NETWORK_INFO]],
      onDtmf: (d) => {
        this.digits += d.digit;
      },
      sessionTimer: this.callSettings.sessionTimer,
      mediaTimeoutMs: this.callSettings.mediaTimeoutMs,
      // The topology's `impairment:` is the UE's access link, so its RTP loses as its SIP does.
      ...(link ? { impairment: link } : {}),
    };
  }

  /**
   * The UE's access link for media: the profile of its transport's LinkImpairment (TransportLayer has one;
   * other SipTransportLayers may not), drawn from a stream of its own. Sharing the SIP link's stream would let
   * the number of RTP packets, which follows wall-clock timing, decide which later SIP datagrams are lost, and
   * a seeded run would no longer replay the same SIP losses.
   */
  private linkImpairment(): LinkImpairment | undefined {
    if (this.mediaLink !== undefined) return this.mediaLink || undefined;
    const link = (this.transport as SipTransportLayer & { impairment?: unknown }).impairment;
    // With no per-destination profile, any destination gets the link's global one.
    const profile = link instanceof LinkImpairment && link.active ? link.profileFor({ address: '', port: 0 }) : undefined;
    if (!profile) {
      this.mediaLink = false;
      return undefined;
    }
    const fork = (this.random as { fork?: (label: string) => Random }).fork;
    const random = typeof fork === 'function' ? fork.call(this.random, 'media-link') : this.random;
    this.mediaLink = new LinkImpairment(random, this.clock, profile);
    return this.mediaLink;
  }

  private track(call: Call, outgoing: boolean): void {
    this.activeCalls.add(call);
    let invitePending = outgoing;
    const sub = call.state$.subscribe((s) => {
      if (invitePending && (s.state === 'confirmed' || s.state === 'terminated')) {
        invitePending = false;
        if (s.status !== undefined) this.lastFinal = s.status;
      }
      if (s.state === 'terminated') {
        this.activeCalls.delete(call);
        queueMicrotask(() => sub.unsubscribe());
      }
    });
  }

  /** Ends open calls with BYE/CANCEL (bounded by STOP_GRACE_MS), then closes the SIP stack. */
  async stop(): Promise<void> {
    const open = this.calls;
    if (open.length > 0 && this.ua) {
      let timer: { cancel(): void } | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, STOP_GRACE_MS);
      });
      await Promise.race([Promise.all(open.map((c) => c.hangup('UE stopped'))), grace]);
      timer?.cancel();
      await Promise.all(open.map((c) => c.release('UE stopped')));
    }
    this.registration?.close();
    this.ua?.close();
    this.transactions.close();
    await this.transport.close();
  }
}
