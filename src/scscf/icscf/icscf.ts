import { UserAuthorizationType } from '../../diameter/cx/constants.js';
import type { LocationInfoAnswer } from '../../diameter/cx/location-info.js';
import { ExperimentalResultCode as X } from '../../diameter/cx/constants.js';
import type { UserAuthorizationAnswer } from '../../diameter/cx/user-authorization.js';
import { ResultCode } from '../../diameter/result-codes.js';
import { parseCredentials } from '../../sip/headers/auth.js';
import { parseContacts } from '../../sip/headers/contact.js';
import { parseNameAddr } from '../../sip/headers/name-addr.js';
import { expiresOf, parsePVisitedNetworkId } from '../../sip/headers/p-headers.js';
import type { SipRequest, SipResponse } from '../../sip/message.js';
import { ProxyCore } from '../../sip/proxy/proxy-core.js';
import type { ProxyDecision, RequestInfo } from '../../sip/proxy/types.js';
import type { TransportAddress } from '../../sip/transport/types.js';
import { reachableUri } from '../../topology/directory.js';
import type { NetworkNode } from '../../topology/network-node.js';
import type { IcscfSettings } from '../../topology/node-spec.js';
import { HssLink, HssUnavailableError } from '../hss-link.js';
import { refusal } from '../respond.js';
import { TrustBoundary } from '../trust-domain.js';
import { derivePrivateIdentity, resolveServerName, selectScscfs, uaaRefusal, type ScscfCandidate } from './selection.js';
import type { SipNodeDeps } from '../../topology/sip-node-deps.js';

/** I-CSCF settings: the contract's fields, plus the capabilities of each S-CSCF when the topology gives them. */
export interface IcscfNodeSettings extends IcscfSettings {
  /** S-CSCF node name → capabilities (TS 29.228 §6.7); absent = none. */
  scscfCapabilities?: Record<string, number[]>;
  /** S-CSCF node name → Server-Name, when it is not `sip:<fqdn>:<port>`. */
  scscfServerNames?: Record<string, string>;
  /** Cx request timeout in ms (default 5000). */
  diameterTimeoutMs?: number;
}

export type IcscfDeps = SipNodeDeps<IcscfNodeSettings>;

/**
 * The I-CSCF (TS 24.229 §5.3): the home network's entry point. A REGISTER makes it ask the HSS (UAR) which
 * S-CSCF serves the user, or which capabilities one needs, and forward the request there without staying in
 * the path (§5.3.1.2, no Record-Route). A terminating request makes it ask where the callee is served (LIR,
 * §5.3.2.1) and forward it there.
 */
export class Icscf implements NetworkNode {
  readonly kind = 'icscf' as const;
  readonly name: string;
  readonly hss: HssLink;
  private proxy: ProxyCore | undefined;
  private readonly warnAgent: string;
  private readonly boundary: TrustBoundary;

  constructor(private readonly deps: IcscfDeps) {
    this.name = deps.spec.name;
    // The I-CSCF is where requests from outside enter the home network (TS 24.229 §5.3): integrity-protected
    // only from a P-CSCF (TS 33.203 §7), P-Asserted-Identity from any network function of the topology.
    this.boundary = new TrustBoundary({
      node: this.name,
      trace: deps.trace,
      directory: deps.directory,
      integrityFrom: ['pcscf'],
      identityFrom: ['pcscf', 'icscf', 'scscf', 'as'],
      ...(deps.spec.settings.trustedPeers ? { trustedPeers: deps.spec.settings.trustedPeers } : {}),
    });
    this.hss = new HssLink({
      spec: deps.spec,
      directory: deps.directory,
      clock: deps.clock,
      random: deps.random,
      trace: deps.trace,
      hss: deps.spec.settings.hss,
      ...(deps.spec.settings.diameterTimeoutMs !== undefined ? { requestTimeoutMs: deps.spec.settings.diameterTimeoutMs } : {}),
      ...(deps.spec.settings.diameterTcMs !== undefined ? { reconnectIntervalMs: deps.spec.settings.diameterTcMs } : {}),
    });
    this.warnAgent = deps.spec.address.includes(':') ? `[${deps.spec.address}]` : deps.spec.address;
  }

  async start(): Promise<void> {
    await this.deps.transport.start();
    await this.hss.start();
    this.proxy = new ProxyCore(this.deps.transactions, this.deps.random, {
      router: (req, info) => this.route(req, info),
      aliases: [`${this.name}.${this.deps.spec.domain}`.toLowerCase()],
      resolveHost: (h) => this.deps.directory.resolveHost(h)?.address,
      supported: ['path', 'sec-agree'],
      trace: this.deps.trace,
      node: this.name,
    });
  }

  async stop(): Promise<void> {
    this.deps.transactions.close();
    await this.deps.transport.close();
    await this.hss.close();
  }

  /** The S-CSCFs this I-CSCF may assign, as configured. */
  candidates(): ScscfCandidate[] {
    const s = this.deps.spec.settings;
    return s.scscfs.map((name) => {
      const e = this.deps.directory.find(name);
      return {
        name,
        serverName: s.scscfServerNames?.[name] ?? reachableUri(`${name}.${e?.domain ?? this.deps.spec.domain}`, e?.ports ?? {}),
        capabilities: s.scscfCapabilities?.[name] ?? [],
      };
    });
  }

  private async route(request: SipRequest, info: RequestInfo): Promise<ProxyDecision> {
    this.boundary.admit(request, info.received.source);
    if (request.method === 'REGISTER') return this.register(request);
    if (request.method === 'ACK' || request.method === 'CANCEL') return this.byRoute(request, info);
    if (info.routedToUs && request.headers.has('Route')) return this.byRoute(request, info);
    return this.terminating(request);
  }

  /** TS 24.229 §5.3.1.2: UAR, then the S-CSCF. */
  private async register(request: SipRequest): Promise<ProxyDecision> {
    let impu: string;
    let impi: string;
    let visited: string;
    let deregistration: boolean;
    try {
      impu = parseNameAddr(request.headers.get('To') ?? '').uri;
      const auth = request.headers.get('Authorization');
      const username = auth ? parseCredentials(auth).username : undefined;
      impi = username || derivePrivateIdentity(impu, this.deps.directory.homeDomain);
      visited = parsePVisitedNetworkId(request.headers)[0]?.network ?? this.deps.spec.domain;
      deregistration = isDeregistration(request);
    } catch (e) {
      return this.refuse(request, 400, `unreadable REGISTER: ${(e as Error).message}`, 'RFC 3261 §8.2');
    }
    let uaa: UserAuthorizationAnswer;
    try {
      const cx = await this.hss.cx();
      uaa = await cx.uar({
        userName: impi,
        publicIdentity: impu,
        visitedNetworkIdentifier: visited,
        userAuthorizationType: deregistration ? UserAuthorizationType.DE_REGISTRATION : UserAuthorizationType.REGISTRATION,
      });
    } catch (e) {
      return this.hssFailure(request, e);
    }
    const refused = uaaRefusal(uaa.resultCode, uaa.experimentalResultCode);
    if (refused) return this.refuse(request, refused.status, refused.reason, refused.clause);
    return this.toScscf(request, uaa, 'UAA');
  }

  /** TS 24.229 §5.3.2.1: LIR for the Request-URI, then the S-CSCF serving it. */
  private async terminating(request: SipRequest): Promise<ProxyDecision> {
    let lia: LocationInfoAnswer;
    try {
      const cx = await this.hss.cx();
      lia = await cx.lir({ publicIdentity: request.uri });
    } catch (e) {
      return this.hssFailure(request, e);
    }
    const clause = 'TS 24.229 §5.3.2.1';
    const x = lia.experimentalResultCode;
    if (x === X.DIAMETER_ERROR_USER_UNKNOWN) return this.refuse(request, 404, `${request.uri} is not a subscriber here (LIA DIAMETER_ERROR_USER_UNKNOWN)`, clause);
    if (x === X.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED) return this.refuse(request, 480, `${request.uri} is not registered and has no unregistered services`, clause);
    if (x !== undefined && x !== X.DIAMETER_UNREGISTERED_SERVICE) return this.refuse(request, 500, `HSS answered Experimental-Result-Code ${x}`, clause);
    if (x === undefined && lia.resultCode !== ResultCode.DIAMETER_SUCCESS) return this.refuse(request, 500, `HSS answered Result-Code ${lia.resultCode ?? 'none'}`, clause);
    return this.toScscf(request, lia, 'LIA');
  }

  /** Forwards to the Server-Name of the answer, or to an S-CSCF chosen from its Server-Capabilities. */
  private toScscf(request: SipRequest, answer: UserAuthorizationAnswer | LocationInfoAnswer, what: string): ProxyDecision {
    const clause = request.method === 'REGISTER' ? 'TS 24.229 §5.3.1.2' : 'TS 24.229 §5.3.2.1';
    let serverName = answer.serverName;
    let destination: TransportAddress | undefined;
    if (serverName) {
      destination = resolveServerName(serverName, this.deps.directory);
      if (!destination) return this.refuse(request, 480, `${what} names ${serverName}, which the directory cannot resolve`, clause);
      this.note(`${what} Server-Name ${serverName}: forwarding ${request.method} there`, clause);
    } else {
      const caps = answer.serverCapabilities ?? { mandatoryCapabilities: [], optionalCapabilities: [], serverNames: [] };
      const chosen = selectScscfs(this.candidates(), caps, this.deps.directory);
      const first = chosen[0];
      if (!first) {
        return this.refuse(request, 480, `no S-CSCF has the mandatory capabilities [${caps.mandatoryCapabilities.join(', ')}]`, 'TS 29.228 §6.7');
      }
      const e = this.deps.directory.get(first.name);
      const transport = e.ports.udp !== undefined ? 'udp' : 'tcp';
      destination = { transport, address: e.address, port: e.ports[transport] ?? 5060 };
      serverName = first.serverName;
      this.note(
        `${what} gave capabilities (mandatory [${caps.mandatoryCapabilities.join(', ')}], optional [${caps.optionalCapabilities.join(', ')}]): chose ${first.name}`,
        'TS 29.228 §6.7',
      );
    }
    // §5.3.1.2: the I-CSCF does not Record-Route a REGISTER; the Request-URI stays as the UE wrote it.
    if (request.method === 'REGISTER') return { action: 'forward', targets: [{ uri: request.uri, nextHop: destination }], recordRoute: false };
    // §5.3.2.1: a terminating request gets the S-CSCF's URI as its topmost Route (loose routing: every IMS
    // entity is a loose router, so `lr`) and no Record-Route: the I-CSCF leaves the dialog's path.
    const route = `<${withLr(serverName!)}>`;
    return { action: 'forward', targets: [{ uri: request.uri, nextHop: destination, route: [route] }], recordRoute: false };
  }

  /** Requests routed through us by a Route set (a dialog an I-CSCF record-routed, or a CANCEL/ACK). */
  private byRoute(request: SipRequest, _info: RequestInfo): ProxyDecision {
    return { action: 'forward', targets: [{ uri: request.uri }] };
  }

  private hssFailure(request: SipRequest, e: unknown): ProxyDecision {
    const unavailable = e instanceof HssUnavailableError;
    const why = (e as Error)?.message ?? String(e);
    // Contract + TS 24.229 §5.3.1.2: an HSS that does not answer is a 504, never a hang.
    return this.refuse(request, 504, unavailable ? `HSS not reachable: ${why}` : `HSS did not answer: ${why}`, 'TS 24.229 §5.3.1.2', 'warn');
  }

  private refuse(request: SipRequest, status: number, reason: string, clause: string, level: 'info' | 'warn' = 'info'): ProxyDecision {
    const response: SipResponse = refusal(request, status, reason, {
      node: this.name,
      trace: this.deps.trace,
      warnAgent: this.warnAgent,
      toTag: this.deps.random.token(10),
      clause,
      level,
    });
    return { action: 'respond', response };
  }

  private note(text: string, clause: string): void {
    this.deps.trace.note({ node: this.name, level: 'info', text, clause });
  }
}

/** A Server-Name as a loose-routing Route URI (RFC 3261 §19.1.1 `lr`), parameters kept. */
function withLr(uri: string): string {
  return /;lr(?:[;=?]|$)/i.test(uri) ? uri : uri.includes('?') ? uri.replace('?', ';lr?') : `${uri};lr`;
}

/** A REGISTER that removes every binding it names (RFC 3261 §10.2.2): Expires 0, or every contact expires=0, or `*`. */
export function isDeregistration(request: SipRequest): boolean {
  const contacts = parseContacts(request.headers);
  const header = expiresOf(request.headers);
  if (contacts === '*') return true;
  if (contacts.length === 0) return false;
  return contacts.every((c) => (c.expires ?? header) === 0);
}
