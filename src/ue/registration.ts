/**
 * The UE's IMS registration (TS 24.229 §5.1.1): initial REGISTER via the P-CSCF with the empty
 * Authorization and Security-Client (§5.1.1.2.1, RFC 3329 §2.3.1), the answer to the 401 (§5.1.1.5.1: AKA
 * or digest, Security-Verify, same Call-ID, CSeq + 1), the 200 (§5.1.1.2.2: P-Associated-URI, Service-Route
 * kept as preloaded route, granted expiry), re-registration before expiry (§5.1.1.4.1), the reg-event
 * subscription (§5.1.1.3), network-initiated deregistration (§5.1.1.7) and deregistration (§5.1.1.6).
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import type { TraceBus } from '../trace/events.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { parseChallenge } from '../sip/headers/auth.js';
import { parseContacts } from '../sip/headers/contact.js';
import { parseCSeq } from '../sip/headers/cseq.js';
import { parseNameAddr } from '../sip/headers/name-addr.js';
import { expiresOf, formatPAccessNetworkInfo } from '../sip/headers/p-headers.js';
import { formatSecurityMechanism } from '../sip/headers/security.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { parseUri, uriEquals } from '../sip/uri.js';
import { refreshDelaySeconds, Subscription, type ChallengeAnswer, type ClientResult, type Notification, type UserAgent } from '../sip/ua/index.js';
import { answerChallenge, initialAuthorization, sessionAuthorization, type DigestSession } from './credentials.js';
import { readRegInfo, regEventAction } from './reg-event.js';
import type { UeConfig } from './settings.js';

export type UeRegistrationState = 'idle' | 'registering' | 'registered' | 'deregistering' | 'deregistered' | 'failed';

export interface UeState {
  state: UeRegistrationState;
  /** P-Associated-URI of the last 200, default IMPU first (RFC 3455 §4.1). */
  impus?: string[] | undefined;
  /** Service-Route of the last 200 (RFC 3608), the preloaded route of later requests after the P-CSCF. */
  serviceRoute?: string[] | undefined;
  /** Seconds granted for our contact by the last 200. */
  expires?: number | undefined;
  /** Why it failed or ended, in the network's words where it gave any. */
  reason?: string | undefined;
}

export const REGINFO = 'application/reginfo+xml';

/**
 * TS 24.229 §7.2A.4 / RFC 7315 §5.4: an E-UTRAN cell of the lab's PLMN (MCC 001, MNC 01); also sent in
 * originating requests (§5.1.2A.1.1).
 */
export const ACCESS_NETWORK_INFO = formatPAccessNetworkInfo({ accessType: '3GPP-E-UTRAN-FDD', params: new Map([['utran-cell-id-3gpp', '001010001000019B']]) });

export interface RegistrationContext {
  node: string;
  ua: UserAgent;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  config: UeConfig;
  domain: string;
  /** Our Contact URI, e.g. `sip:alice@127.0.10.1:5060;transport=udp`. */
  contactUri: string;
  /** The port we send from and receive on (Security-Client port-c / port-s). */
  localPort: number;
  /** The P-CSCF as a Route value (`<sip:127.0.1.1:5060;lr>`), first in every preloaded route set. */
  pcscfRoute: string;
  /** Where the state is published (the owner's subject, so that it exists before the registration does). */
  state?: BehaviorSubject<UeState> | undefined;
}

export class ImsRegistration {
  private readonly subject: BehaviorSubject<UeState>;
  readonly state$: Observable<UeState>;
  /** The reg-event subscription, once the first registration succeeded. */
  subscription: Subscription | undefined;

  private readonly callId: string;
  private readonly fromTag: string;
  private cseq = 0;
  private session: DigestSession | undefined;
  private securityVerify: string[] | undefined;
  private securityClient: string;
  private refreshTimer: TimerHandle | undefined;
  private inFlight: Promise<void> | undefined;
  private failure: { reason: string; clause: string } | undefined;
  private closed = false;

  constructor(private readonly ctx: RegistrationContext) {
    this.subject = ctx.state ?? new BehaviorSubject<UeState>({ state: 'idle' });
    this.state$ = this.subject.asObservable();
    this.callId = ctx.ua.newCallId();
    this.fromTag = ctx.ua.newTag();
    this.securityClient = this.newSecurityClient();
  }

  /** TS 33.203 §7.1: a fresh SPI pair of the UE's choice; 0..255 are reserved (RFC 4301 §4.1). */
  private newSecurityClient(): string {
    const ctx = this.ctx;
    const spi = () => 256 + ctx.random.int(0xffffff00);
    return formatSecurityMechanism({
      mechanism: 'ipsec-3gpp',
      params: new Map([
        ['alg', 'hmac-sha-1-96'],
        ['ealg', 'null'],
        ['spi-c', String(spi())],
        ['spi-s', String(spi())],
        ['port-c', String(ctx.localPort)],
        ['port-s', String(ctx.localPort)],
      ]),
    });
  }

  /**
   * TS 33.203 §7.4 / TS 24.229 §5.1.1.6, §5.1.1.7: once the registration is gone the UE deletes its security
   * associations and the authentication state that belonged to them. The next REGISTER is an initial one: no
   * Security-Verify, no Authorization from the old challenge, and new SPIs in a new Security-Client — the
   * P-CSCF has deleted the old SAs too, so echoing them would get 494.
   */
  private dropSecurityAssociations(why: string): void {
    const had = this.securityVerify !== undefined || this.session !== undefined;
    this.session = undefined;
    this.securityVerify = undefined;
    if (this.ctx.config.secAgree) this.securityClient = this.newSecurityClient();
    if (had && this.ctx.config.secAgree) this.note('info', `security associations deleted (${why}); the next REGISTER starts a new security agreement`, 'TS 33.203 §7.4');
  }

  get state(): UeState {
    return this.subject.value;
  }

  /** The route set for requests after registration: the P-CSCF, then the Service-Route (RFC 3608 §6). */
  get preloadedRoute(): string[] {
    return [this.ctx.pcscfRoute, ...(this.state.serviceRoute ?? [])];
  }

  /** Registers, or refreshes an existing registration. Resolves once registered; rejects with the reason. */
  register(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const p = this.registerNow().finally(() => {
      if (this.inFlight === p) this.inFlight = undefined;
    });
    this.inFlight = p;
    return p;
  }

  /** §5.1.1.6: REGISTER with Expires 0 for our contact, authenticated as the network asks. */
  async deregister(): Promise<void> {
    if (this.inFlight) await this.inFlight.catch(() => undefined);
    if (this.state.state !== 'registered') {
      this.set({ state: 'deregistered', reason: 'not registered' });
      return;
    }
    this.cancelRefresh();
    this.set({ ...this.state, state: 'deregistering' });
    const p = this.exchange(0).then((result) => {
      const { response } = result;
      if (response.status >= 200 && response.status < 300) {
        this.dropSecurityAssociations('deregistered by the user');
        this.set({ state: 'deregistered', reason: 'deregistered by the user' });
        this.note('info', 'deregistered (REGISTER with Expires 0 accepted)', 'TS 24.229 §5.1.1.6');
        return;
      }
      const reason = this.failure?.reason ?? describeFailure(response);
      this.dropSecurityAssociations('deregistration failed');
      this.set({ state: 'failed', reason });
      throw new Error(reason);
    });
    this.inFlight = p.finally(() => {
      this.inFlight = undefined;
    });
    return p;
  }

  /** Stops timers and the subscription; sends nothing. */
  close(): void {
    this.closed = true;
    this.cancelRefresh();
    this.subscription?.close();
  }

  // ---- internals ----

  private async registerNow(): Promise<void> {
    const initial = this.state.state !== 'registered';
    if (initial) this.set({ state: 'registering' });
    this.failure = undefined;
    const result = await this.exchange(this.ctx.config.expires);
    const { response } = result;
    if (response.status >= 200 && response.status < 300) {
      this.registered(response);
      return;
    }
    // Set by answer() during the exchange when the UE itself refused the challenge.
    const failure = this.failure as { reason: string; clause: string } | undefined;
    const reason = failure?.reason ?? describeFailure(response);
    const clause = failure?.clause ?? 'TS 24.229 §5.1.1.2';
    this.cancelRefresh();
    this.dropSecurityAssociations('registration failed');
    this.set({ state: 'failed', reason });
    this.note('warn', `registration failed: ${reason}`, clause);
    throw new Error(reason);
  }

  /** One REGISTER transaction (with its challenged retries); keeps Call-ID and CSeq (RFC 3261 §10.2). */
  private async exchange(expires: number): Promise<ClientResult> {
    const { config, domain, ua } = this.ctx;
    const uri = `sip:${domain}`;
    const headers: Array<[string, string]> = [
      ['Expires', String(expires)],
      ['Authorization', this.session ? sessionAuthorization(this.session, { impi: config.impi, uri }, 'REGISTER', this.ctx.random.token(16)) : initialAuthorization({ impi: config.impi, uri }, domain)],
    ];
    if (config.secAgree) {
      // RFC 3329 §2.3.1, TS 24.229 §5.1.1.2.1: offer the mechanism; after the first 401, echo the server's list.
      headers.push(['Security-Client', this.securityClient]);
      if (this.securityVerify) headers.push(['Security-Verify', this.securityVerify.join(', ')]);
      headers.push(['Require', 'sec-agree'], ['Proxy-Require', 'sec-agree']);
    }
    headers.push(['Supported', config.secAgree ? 'path, sec-agree' : 'path']);
    headers.push(['P-Access-Network-Info', ACCESS_NETWORK_INFO]);
    const request = ua.createRequest('REGISTER', uri, {
      from: `<${config.impu}>`,
      to: `<${config.impu}>`,
      fromTag: this.fromTag,
      callId: this.callId,
      cseq: ++this.cseq,
      contact: `<${this.ctx.contactUri}>;expires=${expires};+sip.instance="${config.instance}"`,
      headers,
    });
    const result = await ua.send(request, { onChallenge: (r, q) => this.answer(r, q), maxChallenges: 2 });
    this.cseq = Math.max(this.cseq, parseCSeq(result.request.headers.get('CSeq') ?? '').seq);
    return result;
  }

  /** §5.1.1.5.1: the 401 (never a 407 here); undefined stops and leaves the 401 as the outcome. */
  private answer(response: SipResponse, request: SipRequest): ChallengeAnswer | undefined {
    if (this.closed) return undefined;
    const { config, domain } = this.ctx;
    const value = response.headers.get(response.status === 407 ? 'Proxy-Authenticate' : 'WWW-Authenticate');
    if (value === undefined) {
      this.failure = { reason: `${response.status} without a challenge`, clause: 'RFC 3261 §20.44' };
      return undefined;
    }
    let serverMechanisms: string[] = [];
    if (config.secAgree) {
      serverMechanisms = response.headers.list('Security-Server');
      if (serverMechanisms.length === 0) {
        this.failure = { reason: '401 without Security-Server: no security agreement possible', clause: 'TS 24.229 §5.1.1.5.1, RFC 3329 §2.3.1' };
        return undefined;
      }
    }
    let challenge;
    try {
      challenge = parseChallenge(value);
    } catch (err) {
      this.failure = { reason: `unreadable challenge: ${(err as Error).message}`, clause: 'RFC 3261 §20.44' };
      return undefined;
    }
    const id = { impi: config.impi, uri: request.uri };
    const verdict = answerChallenge(challenge, id, request.method, { usim: config.usim, password: config.password }, this.ctx.random.token(16));
    if (verdict.kind === 'reject') {
      this.failure = { reason: verdict.reason, clause: verdict.clause };
      this.note('warn', `challenge not answered: ${verdict.reason}`, verdict.clause);
      return undefined;
    }
    this.note('info', verdict.note, verdict.clause);
    // TS 33.203 §7.2: the SA would be set up now from the Security-Server values; imslab simulates it.
    if (config.secAgree) this.securityVerify = serverMechanisms;
    const answer: ChallengeAnswer = { headers: { Authorization: verdict.authorization } };
    if (config.secAgree) answer.headers['Security-Verify'] = serverMechanisms.join(', ');
    this.session = verdict.kind === 'answer' ? verdict.session : undefined;
    return answer;
  }

  /** §5.1.1.2.2: the 200 to REGISTER. */
  private registered(response: SipResponse): void {
    const { config } = this.ctx;
    let impus: string[];
    let serviceRoute: string[];
    try {
      impus = response.headers.list('P-Associated-URI').map((v) => parseNameAddr(v).uri);
      serviceRoute = response.headers.list('Service-Route');
    } catch (err) {
      impus = [];
      serviceRoute = [];
      this.note('warn', `unreadable P-Associated-URI or Service-Route: ${(err as Error).message}`, 'RFC 3455 §4.1, RFC 3608 §6');
    }
    if (impus.length === 0) impus = [config.impu];
    const expires = this.grantedExpires(response);
    if (expires === 0) {
      this.cancelRefresh();
      this.dropSecurityAssociations('no time granted for our contact');
      this.set({ state: 'deregistered', reason: 'the registrar granted no time for our contact' });
      return;
    }
    const initial = this.state.state !== 'registered';
    this.set({ state: 'registered', impus, serviceRoute, expires });
    this.note('info', `registered ${impus.join(', ')} for ${expires} s${serviceRoute.length ? ` via Service-Route ${serviceRoute.join(', ')}` : ''}`, 'TS 24.229 §5.1.1.2.2');
    this.schedule(expires);
    if (initial && !this.subscription) this.subscribeRegEvent();
  }

  /** Our contact's expires in the 200's Contact list, else Expires, else what we asked (RFC 3261 §10.2.4). */
  private grantedExpires(response: SipResponse): number {
    try {
      const contacts = parseContacts(response.headers);
      if (contacts !== '*') {
        const mine = parseUri(this.ctx.contactUri);
        const ours = contacts.find((c) => c.instance === this.ctx.config.instance || safeEquals(c.uri, mine));
        if (ours?.expires !== undefined) return ours.expires;
      }
      return expiresOf(response.headers) ?? this.ctx.config.expires;
    } catch {
      return this.ctx.config.expires;
    }
  }

  private schedule(expires: number): void {
    this.cancelRefresh();
    const delay = refreshDelaySeconds(expires);
    this.refreshTimer = this.ctx.clock.setTimeout(() => {
      this.refreshTimer = undefined;
      this.note('info', `re-registering ${delay} s into a ${expires} s registration`, 'TS 24.229 §5.1.1.4.1');
      this.register().catch(() => undefined);
    }, delay * 1000);
  }

  private cancelRefresh(): void {
    this.refreshTimer?.cancel();
    this.refreshTimer = undefined;
  }

  /** §5.1.1.3: SUBSCRIBE to our own reg event through the P-CSCF and the Service-Route. */
  private subscribeRegEvent(): void {
    const { config } = this.ctx;
    const sub = new Subscription(this.ctx.ua, {
      event: 'reg',
      target: config.impu,
      from: `<${config.impu}>`,
      to: `<${config.impu}>`,
      accept: REGINFO,
      expires: 600000,
      routeSet: this.preloadedRoute,
      headers: [['P-Access-Network-Info', ACCESS_NETWORK_INFO]],
    });
    this.subscription = sub;
    sub.notifications$.subscribe((n) => this.onRegEvent(n));
    sub.status$.subscribe((s) => {
      if (s.state === 'terminated' && this.subscription === sub) {
        this.subscription = undefined;
        this.note('info', `reg-event subscription ended: ${s.reason ?? 'terminated'}`, 'RFC 6665 §4.1.3');
      }
    });
    sub.subscribe().then(
      (r) => {
        if (r.response.status >= 300) this.note('warn', `reg-event SUBSCRIBE refused: ${describeFailure(r.response)}`, 'TS 24.229 §5.1.1.3');
      },
      (err: Error) => this.note('warn', `reg-event SUBSCRIBE not sent: ${err.message}`, 'TS 24.229 §5.1.1.3'),
    );
  }

  /** §5.1.1.7 and §5.1.1.4.1 from a reginfo NOTIFY. */
  private onRegEvent(n: Notification): void {
    if (n.body.length === 0) return;
    let action;
    try {
      action = regEventAction(readRegInfo(n.body), {
        impus: this.state.impus ?? [this.ctx.config.impu],
        contact: this.ctx.contactUri,
        instance: this.ctx.config.instance,
      });
    } catch (err) {
      this.note('warn', `unreadable reginfo in NOTIFY: ${(err as Error).message}`, 'RFC 3680 §5.3');
      return;
    }
    if (this.state.state !== 'registered') return;
    switch (action.kind) {
      case 'active':
        // §5.1.1.4.1: a shortened registration is refreshed on the new expiry.
        if (action.event === 'shortened' && action.expires !== undefined) {
          this.set({ ...this.state, expires: action.expires });
          this.schedule(action.expires);
        }
        return;
      case 'reregister':
        this.note('info', `network deregistered our contact (event ${action.event}): registering again`, 'TS 24.229 §5.1.1.7');
        this.cancelRefresh();
        this.dropSecurityAssociations(`network-initiated deregistration (${action.event})`);
        this.set({ state: 'registering', reason: `network-initiated deregistration (${action.event})` });
        this.register().catch(() => undefined);
        return;
      case 'deregistered':
        this.cancelRefresh();
        this.dropSecurityAssociations(`network-initiated deregistration (${action.event})`);
        this.set({ state: 'deregistered', reason: `network-initiated deregistration (${action.event})` });
        this.note('info', `network deregistered our contact (event ${action.event})`, 'TS 24.229 §5.1.1.7');
        return;
      default:
        return;
    }
  }

  private set(s: UeState): void {
    this.subject.next(s);
  }

  private note(level: 'info' | 'warn', text: string, clause: string): void {
    this.ctx.trace.note({ node: this.ctx.node, level, text, clause });
  }
}

/** "403 Forbidden (Warning: …)": the status and whatever text the network put in Warning (RFC 3261 §20.43). */
export function describeFailure(response: SipResponse): string {
  let text = `${response.status} ${response.reason}`;
  for (const w of response.headers.list('Warning')) {
    const q = w.indexOf('"');
    const warn = q >= 0 ? w.slice(q + 1, w.lastIndexOf('"') > q ? w.lastIndexOf('"') : undefined) : w;
    if (warn) text += ` (${warn})`;
  }
  return text;
}

function safeEquals(uri: string, mine: ReturnType<typeof parseUri>): boolean {
  try {
    return uriEquals(parseUri(uri), mine);
  } catch {
    return false;
  }
}
