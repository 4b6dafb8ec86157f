/**
 * REGISTER at the P-CSCF (TS 24.229 §5.2.2; TS 24.228 §6.2 flows): check the request, agree on security with
 * IMS AKA clients that ask for it (RFC 3329, TS 33.203 §7), forward to the I-CSCF with Path, Require: path,
 * P-Visited-Network-ID, P-Charging-Vector and integrity-protected; on the way back take ck/ik out of the 401
 * and add Security-Server; on the 200 store the registration. REGISTER is never record-routed.
 */
import type { Credentials } from '../sip/headers/auth.js';
import { parseContacts, type ContactValue } from '../sip/headers/contact.js';
import { parseCSeq } from '../sip/headers/cseq.js';
import { parseNameAddr } from '../sip/headers/name-addr.js';
import { expiresOf } from '../sip/headers/p-headers.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { BranchInfo, ProxyDecision, RequestInfo } from '../sip/proxy/types.js';
import type { TransportAddress, TransportProtocol } from '../sip/transport/types.js';
import { parseUri, uriEquals } from '../sip/uri.js';
import type { TraceBus } from '../trace/events.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { refuse, warning } from './refuse.js';
import {
  markIntegrity,
  dropIntegrity,
  newChargingVector,
  pathValue,
  readAuthorizations,
  requireOption,
  setChargingVector,
  setVisitedNetwork,
  takeCipherKeys,
  type CipherKeys,
  type IntegrityProtected,
  type ReadAuthorization,
} from './register-headers.js';
import type { PcscfRegistration, RegistrationCache } from './registration-cache.js';
import {
  askedOffers,
  chooseIpsec,
  formatServerMechanism,
  readVerify,
  SecAgreeError,
  stripSecAgree,
  verifyMismatchOf,
  type IpsecOffer,
} from './sec-agree.js';
import { newSecurityAssociation, type PendingSecurityAssociations, type SecurityAssociation } from './security-associations.js';

export interface RegisterContext {
  node: string;
  trace: TraceBus;
  clock: Clock;
  random: Random;
  /** This node's address, for Warning and icid-generated-at. */
  address: string;
  /** P-Visited-Network-ID value (TS 24.229 §5.2.2.1): the network this P-CSCF belongs to. */
  visitedNetworkId: string;
  /** Offer security agreement to UEs that ask (RFC 3329). */
  secAgree: boolean;
  /** Where REGISTER goes (TS 24.229 §5.2.2.1: the home network's entry point), and its name for notes. */
  icscf: { name: string; destination: TransportAddress | undefined };
  /** The address and port this node sends from over a transport (Path, Security-Server ports). */
  local(transport: TransportProtocol): TransportAddress;
  cache: RegistrationCache;
  sas: PendingSecurityAssociations;
  /** Runs after a registration is stored (initial: not registered before) — the reg-event subscription hook. */
  onRegistered?: (registration: PcscfRegistration, initial: boolean) => void;
}

/** What the P-CSCF read from a REGISTER before forwarding it. */
interface ReadRegister {
  impu: string;
  contacts: ContactValue[] | '*';
  callId: string;
  /** The first Authorization's credentials. */
  credentials: Credentials | undefined;
  /** Every Authorization line with its credentials, parsed once: the edit rewrites them (integrity-protected). */
  authorizations: readonly ReadAuthorization[];
}

const CLAUSE = 'TS 24.229 §5.2.2.1';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

export class RegisterProcedure {
  constructor(private readonly ctx: RegisterContext) {}

  handle(request: SipRequest, info: RequestInfo): ProxyDecision {
    const source = info.received.source;
    const refusal = (status: number, reason: string, clause: string, level: 'info' | 'warn' = 'info'): ProxyDecision => ({
      action: 'respond',
      response: refuse(
        { node: this.ctx.node, trace: this.ctx.trace, warnAgent: this.ctx.address, toTag: this.ctx.random.token(10) },
        request,
        status,
        reason,
        clause,
        level,
      ),
    });

    const read = readRegister(request);
    if (typeof read === 'string') return refusal(400, read, 'RFC 3261 §10.3, TS 24.229 §5.2.2.1');

    // Security agreement (RFC 3329 §2.3.1, TS 33.203 §7.1, TS 24.229 §5.2.2.1).
    let offers: IpsecOffer[] | undefined;
    let overSa: SecurityAssociation | undefined;
    let integrity: IntegrityProtected | undefined;
    if (this.ctx.secAgree) {
      try {
        offers = askedOffers(request.headers);
      } catch (e) {
        const err = e as SecAgreeError;
        return refusal(err.status ?? 494, err.message, err.clause ?? 'RFC 3329 §2.3.1');
      }
    }
    if (offers) {
      if (request.headers.has('Security-Verify')) {
        const candidates = this.candidateSas(source.address, offers);
        if (candidates.length === 0) {
          return refusal(494, `Security-Verify from ${source.address}, but this P-CSCF has no security association with the SPIs of its Security-Client`, 'RFC 3329 §2.3.1, TS 33.203 §7.4');
        }
        // A Security-Verify that repeats the Security-Server byte for byte (as UEs echo it) matches without
        // being parsed; any other is parsed once and compared with each candidate (RFC 3329 §2.3.1 step 5).
        const lines = request.headers.getAll('Security-Verify');
        let verify: ReturnType<typeof readVerify> | undefined;
        const sa = candidates.find(
          (c) => (lines.length === 1 && lines[0] === formatServerMechanism(c.pcscf)) || verifyMismatchOf((verify ??= readVerify(request.headers)), c.sent) === undefined,
        );
        if (!sa) {
          const mismatch = verifyMismatchOf((verify ??= readVerify(request.headers)), candidates[0]!.sent)!;
          return refusal(494, `Security-Verify does not repeat the Security-Server sent: ${mismatch}`, 'RFC 3329 §2.3.1, TS 33.203 §7.4');
        }
        overSa = sa;
        integrity = 'yes';
      } else {
        // The first REGISTER travels before any SA exists (TS 33.203 §7.1).
        integrity = 'no';
      }
    } else if (read.credentials) {
      integrity = this.integrityWithoutIpsec(read.credentials, info);
    }

    const destination = this.ctx.icscf.destination;
    if (!destination) {
      return refusal(504, `the I-CSCF "${this.ctx.icscf.name}" cannot be resolved to an address`, CLAUSE, 'warn');
    }
    const path = this.pathToward(destination.transport);
    const chargingVector = newChargingVector(this.ctx.random, this.ctx.address, this.ctx.visitedNetworkId);

    this.note(
      `REGISTER for ${read.impu} from ${source.address}:${source.port}/${source.transport} → ${this.ctx.icscf.name}: ` +
        `Path ${path}, Require: path, P-Visited-Network-ID "${this.ctx.visitedNetworkId}", new icid` +
        (integrity ? `, integrity-protected="${integrity}"` : '') +
        (offers ? (overSa ? ', Security-Verify matches the SA in use' : ', sec-agree asked: Security-Server goes into the 401') : ''),
      overSa ? 'TS 24.229 §5.2.2.1, TS 33.203 §7.4' : CLAUSE,
    );

    return {
      action: 'forward',
      // §5.2.2.1: the P-CSCF does not Record-Route REGISTER; Path does that job for terminating requests.
      recordRoute: false,
      targets: [{ uri: request.uri, nextHop: destination }],
      edit: (req) => {
        if (offers || this.ctx.secAgree) stripSecAgree(req.headers);
        req.headers.prepend('Path', path);
        requireOption(req.headers, 'path');
        setVisitedNetwork(req.headers, this.ctx.visitedNetworkId);
        setChargingVector(req.headers, chargingVector);
        if (integrity) markIntegrity(req.headers, integrity, read.authorizations);
        else dropIntegrity(req.headers, read.authorizations);
      },
      onResponse: (response, branch) => this.onBranchResponse(response, branch),
      onForward: (response) => {
        if (response.status < 200) return;
        const keys = takeCipherKeys(response.headers);
        if (response.status === 401) this.challenged(response, keys, offers, info, read);
        else if (keys) this.note(`ck/ik removed from the ${response.status}: the keys never leave the core`, 'TS 33.203 §7.1');
        if (response.status >= 200 && response.status < 300) this.registered(response, read, info, path, overSa);
      },
    };
  }

  /**
   * The Path value for REGISTERs leaving over `transport`: the same string for every REGISTER while the local
   * address stays, so that it is built once and the registrations' interned Path is found without hashing a new
   * string each time.
   */
  private pathToward(transport: TransportProtocol): string {
    const local = this.ctx.local(transport);
    const last = this.lastPath;
    if (last && last.transport === transport && last.address === local.address && last.port === local.port) return last.value;
    const value = pathValue(local.address, local.port, transport);
    this.lastPath = { transport, address: local.address, port: local.port, value };
    return value;
  }

  private lastPath: { transport: TransportProtocol; address: string; port: number; value: string } | undefined;

  /**
   * integrity-protected for clients without IPsec (TS 24.229 §5.2.2.1, §7.2A.1): over TLS "tls-yes" once the
   * connection carries a registration of this IMPI, else "tls-pending"; SIP digest without TLS "ip-assoc-yes"
   * when the UE's address and port already hold a registration of this IMPI, else "ip-assoc-pending"; an IMS AKA
   * answer without IPsec is plainly "no" (nothing protects it, the S-CSCF must challenge). Only a registration
   * that SIP digest authenticated vouches for its address: an IMS AKA client never gets "ip-assoc-yes".
   */
  private integrityWithoutIpsec(c: Credentials, info: RequestInfo): IntegrityProtected {
    const source = info.received.source;
    const impi = c.username;
    const registered = this.ctx.cache.byUe(source.address, source.port).filter((r) => impi !== undefined && r.impi === impi && r.authentication === 'sip-digest');
    if (info.received.local.transport === 'tls') {
      return registered.some((r) => r.connectionId !== undefined && r.connectionId === info.received.connectionId) ? 'tls-yes' : 'tls-pending';
    }
    if ((c.algorithm ?? '').toUpperCase().startsWith('AKA')) return 'no';
    return registered.length > 0 ? 'ip-assoc-yes' : 'ip-assoc-pending';
  }

  /**
   * The SAs a protected REGISTER may refer to: the pending pair of a challenge just sent, then the pair in use by
   * a registration (TS 33.203 §7.4: during re-authentication both exist until the new pair is confirmed).
   */
  private candidateSas(address: string, offers: readonly IpsecOffer[]): SecurityAssociation[] {
    const out: SecurityAssociation[] = [];
    for (const o of offers) {
      const pending = this.ctx.sas.get(address, o);
      if (pending) out.push(pending);
    }
    for (const o of offers) {
      for (const r of this.ctx.cache.bySa(address, o)) if (r.sa && r.ue.address === address && !out.includes(r.sa)) out.push(r.sa);
    }
    return out;
  }

  /**
   * Contract: an I-CSCF that does not answer (Timer F, 408) or cannot be reached (503 from the transport) is a
   * 504 Server Time-out toward the UE (TS 24.229 §5.2.2.1 leaves it to RFC 3261 §16.7; a 503 would tell the UE
   * that the P-CSCF itself is down, RFC 3261 §16.7 step 6).
   */
  private onBranchResponse(response: SipResponse, branch: BranchInfo): void {
    if (!branch.synthetic || (response.status !== 408 && response.status !== 503)) return;
    const why = response.status === 408 ? 'did not answer in time (Timer F)' : 'cannot be reached';
    this.ctx.trace.note({
      node: this.ctx.node,
      level: 'warn',
      text: `the I-CSCF ${this.ctx.icscf.name} ${why}: 504 to the UE`,
      clause: 'RFC 3261 §16.7, TS 24.229 §5.2.2.1',
    });
    response.status = 504;
    response.reason = 'Server Time-out';
    response.headers.append('Warning', warning(this.ctx.address, `I-CSCF ${this.ctx.icscf.name} ${why}`));
  }

  /** The 401 toward the UE (TS 24.229 §5.2.2.1, TS 33.203 §7.1): a pending SA and Security-Server when asked. */
  private challenged(response: SipResponse, keys: CipherKeys | undefined, offers: IpsecOffer[] | undefined, info: RequestInfo, read: ReadRegister): void {
    if (!offers) {
      if (keys) this.note('ck/ik removed from the 401; the UE did not ask for sec-agree, so no SA is set up', 'TS 33.203 §7.1');
      return;
    }
    if (!keys) {
      this.note('the UE asked for sec-agree but the 401 carries no ck/ik (not IMS AKA): no SA, no Security-Server', 'TS 33.203 §7.1', 'warn');
      return;
    }
    const transport = info.received.local.transport;
    const local = info.received.local;
    let chosen;
    try {
      chosen = chooseIpsec(offers, { portC: local.port, portS: local.port }, this.ctx.random);
    } catch (e) {
      this.note(`no SA: ${(e as Error).message}`, 'TS 33.203 §7.1', 'warn');
      return;
    }
    const server = formatServerMechanism(chosen.choice);
    const sa = newSecurityAssociation({
      ueAddress: info.received.source.address,
      transport,
      ue: chosen.offer,
      pcscf: chosen.choice,
      keys,
      state: 'pending',
      // Whole ms, which the SA holds as a small integer (issue 7); nothing reads it finer.
      createdAt: Math.floor(this.ctx.clock.now()),
      ...(read.credentials?.username ? { impi: read.credentials.username } : {}),
    });
    this.ctx.sas.add(sa);
    response.headers.append('Security-Server', server);
    const c = chosen.choice;
    this.ctx.trace.note({
      node: this.ctx.node,
      level: 'info',
      text:
        `sec-agree: SAs recorded (alg ${c.alg}, ealg ${c.ealg}, UE spi-c ${chosen.offer.spiC} spi-s ${chosen.offer.spiS} ports ${chosen.offer.portC}/${chosen.offer.portS}, ` +
        `P-CSCF spi-c ${c.spiC} spi-s ${c.spiS} ports ${c.portC}/${c.portS}); ck/ik kept from the 401; protection is simulated, no kernel IPsec (TS 33.203 §7)`,
      clause: 'TS 33.203 §7.1, TS 24.229 §5.2.2.1',
      data: { ue: { ...chosen.offer }, pcscf: { ...c }, ueAddress: sa.ueAddress },
    });
  }

  /** The 200 (TS 24.229 §5.2.2.1): the registration as the S-CSCF granted it, per contact of this REGISTER. */
  private registered(response: SipResponse, read: ReadRegister, info: RequestInfo, path: string, overSa: SecurityAssociation | undefined): void {
    let granted: ContactValue[] | '*';
    let headerExpires: number | undefined;
    let impus: string[];
    let serviceRoute: string[];
    try {
      granted = parseContacts(response.headers);
      headerExpires = expiresOf(response.headers);
      impus = response.headers.list('P-Associated-URI').map((v) => parseNameAddr(v).uri);
      serviceRoute = response.headers.list('Service-Route').map((v) => v.trim());
    } catch (e) {
      this.note(`200 to REGISTER unreadable, registration not stored: ${(e as Error).message}`, CLAUSE, 'warn');
      return;
    }
    const source = info.received.source;
    if (read.contacts === '*') {
      for (const r of this.ctx.cache.byImpu(read.impu)) if (r.ue.address === source.address) this.remove(r, 'deregistered');
      return;
    }
    // Whole ms, as the SA's createdAt (issue 7): the cache holds whole-ms times as small integers, where a
    // fractional one is a boxed double per field; nothing reads them finer, and an expiry moves < 1 ms earlier.
    const now = Math.floor(this.ctx.clock.now());
    const creds = read.credentials;
    const authentication = creds?.response ? ((creds.algorithm ?? '').toUpperCase().startsWith('AKA') ? 'ims-aka' : 'sip-digest') : undefined;
    for (const c of read.contacts) {
      const g = granted === '*' ? undefined : granted.find((x) => sameUri(x.uri, c.uri));
      const seconds = g ? (g.expires ?? headerExpires) : undefined;
      const old = this.ctx.cache.get(c.uri);
      if (!seconds) {
        if (old) this.remove(old, 'deregistered');
        continue;
      }
      const sa = overSa ?? old?.sa;
      if (overSa && overSa.state === 'pending') {
        this.ctx.sas.delete(overSa);
        overSa.state = 'in-use';
        this.note(`sec-agree: the SA pair spi ${overSa.pcscf.spiC}/${overSa.pcscf.spiS} is in use for ${c.uri}`, 'TS 33.203 §7.4');
      }
      // The cache keeps a copy of its own (registration-cache.ts): this one is not kept, so its optional fields
      // are set as they apply rather than spread in from literals made for the purpose.
      const reg: Writable<PcscfRegistration> = {
        contact: c.uri,
        impus: impus.length > 0 ? impus : [read.impu],
        registeredImpu: read.impu,
        serviceRoute,
        path,
        ue: source,
        callId: read.callId,
        registeredAt: old?.registeredAt ?? now,
        refreshedAt: now,
        expiresAt: now + seconds * 1000,
      };
      if (c.instance !== undefined) reg.instance = c.instance;
      if (creds?.username) reg.impi = creds.username;
      if (info.received.connectionId !== undefined) reg.connectionId = info.received.connectionId;
      const how = authentication ?? old?.authentication;
      if (how) reg.authentication = how;
      if (sa) reg.sa = sa;
      this.ctx.cache.put(reg);
      this.note(
        `${old ? 're-registered' : 'registered'} ${c.uri} for ${reg.impus.join(', ')} (default ${reg.impus[0]}), ${seconds} s, ` +
          `Service-Route ${serviceRoute.join(', ') || '(none)'}`,
        CLAUSE,
      );
      try {
        this.ctx.onRegistered?.(reg, !old);
      } catch (e) {
        this.note(`after registering ${c.uri}: ${(e as Error).message}`, CLAUSE, 'warn');
      }
    }
  }

  private remove(reg: PcscfRegistration, reason: 'deregistered'): void {
    this.ctx.cache.remove(reg.contact, reason);
    this.note(`${reg.contact} de-registered by the UE (${reg.impus[0]})`, CLAUSE);
  }

  private note(text: string, clause: string, level: 'info' | 'warn' = 'info'): void {
    this.ctx.trace.note({ node: this.ctx.node, level, text, clause });
  }
}

/**
 * What the P-CSCF needs to read before forwarding (RFC 3261 §10.3 steps, TS 24.229 §5.2.2.1): To (the public
 * identity), From, Contact (the UE's address to bind; `*` only to remove all), Call-ID, CSeq and a readable
 * Authorization. Returns the reason when something is missing or unreadable.
 */
export function readRegister(request: SipRequest): ReadRegister | string {
  const h = request.headers;
  // Each header looked up once: get() is has() with the value.
  const toValue = h.get('To');
  if (toValue === undefined) return 'REGISTER without To';
  const fromValue = h.get('From');
  if (fromValue === undefined) return 'REGISTER without From';
  const callId = h.get('Call-ID');
  if (callId === undefined) return 'REGISTER without Call-ID';
  const cseqValue = h.get('CSeq');
  if (cseqValue === undefined) return 'REGISTER without CSeq';
  if (!h.has('Contact')) return 'REGISTER without Contact: the P-CSCF has no UE contact to bind (TS 24.229 §5.1.1.2)';
  try {
    const to = parseNameAddr(toValue);
    parseUri(to.uri);
    parseNameAddr(fromValue);
    const cseq = parseCSeq(cseqValue);
    if (cseq.method !== 'REGISTER') return `CSeq method ${cseq.method} in a REGISTER`;
    const contacts = parseContacts(h);
    if (contacts === '*' && expiresOf(h) !== 0) return 'Contact * needs Expires: 0 (RFC 3261 §10.2.2)';
    if (contacts !== '*') for (const c of contacts) parseUri(c.uri);
    // Every Authorization line must read: the P-CSCF rewrites them all (integrity-protected).
    const authorizations = readAuthorizations(h);
    return { impu: to.uri, contacts, callId: callId.trim(), credentials: authorizations[0]?.credentials, authorizations };
  } catch (e) {
    return `unreadable REGISTER: ${(e as Error).message}`;
  }
}

function sameUri(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return uriEquals(parseUri(a), parseUri(b));
  } catch {
    return a.toLowerCase() === b.toLowerCase();
  }
}
