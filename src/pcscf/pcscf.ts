/**
 * The P-CSCF (TS 24.229 §5.2): the UE's first contact point in the core. A stateful proxy (RFC 3261 §16) for the
 * UEs' requests, and a UA for its own reg-event subscriptions (§5.2.3). REGISTER handling is in register.ts,
 * sessions (TS 24.229 §5.2.6) in sessions.ts; this file wires them onto the node's transport and transactions.
 */
import { ProxyCore } from '../sip/proxy/proxy-core.js';
import { resolveUri } from '../sip/proxy/routing.js';
import type { ProxyDecision, RequestInfo } from '../sip/proxy/types.js';
import type { SipRequest } from '../sip/message.js';
import { canonicalHost } from '../sip/transport/address.js';
import type { TransportAddress, TransportProtocol } from '../sip/transport/types.js';
import { UserAgent } from '../sip/ua/user-agent.js';
import { isSipUri, parseUri } from '../sip/uri.js';
import type { NetworkNode } from '../topology/network-node.js';
import type { PcscfSettings } from '../topology/node-spec.js';
import { RegEventSubscriber } from './reg-event.js';
import { RegisterProcedure } from './register.js';
import { newChargingVector } from './register-headers.js';
import { RegistrationCache, type PcscfRegistration } from './registration-cache.js';
import { PendingSecurityAssociations } from './security-associations.js';
import { SessionRouting } from './sessions.js';
import { TransactionUsers } from './transaction-users.js';
import type { SipNodeDeps } from '../topology/sip-node-deps.js';

/** The contract's settings, plus what the topology loader adds. */
export interface PcscfNodeSettings extends PcscfSettings {
  /** P-Visited-Network-ID value (default: the node's domain). */
  visitedNetworkId?: string;
  /** Duration asked for in the reg-event SUBSCRIBE (default 600 000 s, TS 24.229 §5.2.3). */
  regEventExpires?: number;
  /** Whether to subscribe to the reg event at all (default true). */
  regEvent?: boolean;
}

export type PcscfDeps = SipNodeDeps<PcscfNodeSettings>;

/** User part of the P-CSCF's own UA contact; `term` (Path) and this tell the two kinds of requests to us apart. */
export const UA_USER = 'pcscf';

export class Pcscf implements NetworkNode {
  readonly kind = 'pcscf' as const;
  readonly name: string;
  private readonly cache: RegistrationCache;
  private readonly sas: PendingSecurityAssociations;
  private proxy: ProxyCore | undefined;
  private ua: UserAgent | undefined;
  private regEvent: RegEventSubscriber | undefined;
  private started = false;

  constructor(private readonly deps: PcscfDeps) {
    this.name = deps.spec.name;
    this.cache = new RegistrationCache(deps.clock);
    this.sas = new PendingSecurityAssociations(deps.clock);
  }

  /** The registration cache, read-only (enforcement, issue 8; conformance report, issue 6). */
  registrations(): readonly PcscfRegistration[] {
    return this.cache.list();
  }

  /** Changes of the cache as they happen. */
  get registrationChanges$() {
    return this.cache.changes$;
  }

  /** The reg-event subscriber (undefined before start or when disabled). */
  get regEventSubscriber(): RegEventSubscriber | undefined {
    return this.regEvent;
  }

  /** Pending security associations (awaiting the protected REGISTER). */
  get pendingSecurityAssociations(): number {
    return this.sas.size;
  }

  async start(): Promise<void> {
    if (this.started) return;
    const { spec, directory, trace, random, clock } = this.deps;
    await this.deps.transport.start();
    this.started = true;
    const local = (t: TransportProtocol): TransportAddress => this.deps.transport.localAddress(t);
    const uaTransport: TransportProtocol = spec.ports.udp !== undefined ? 'udp' : 'tcp';
    const uaLocal = local(uaTransport);
    const host = uaLocal.address.includes(':') ? `[${uaLocal.address}]` : uaLocal.address;
    const identity = `sip:${UA_USER}@${host}:${uaLocal.port}${uaTransport === 'udp' ? '' : `;transport=${uaTransport}`}`;
    const users = new TransactionUsers(this.deps.transactions, (r) => this.isForUa(r));
    const settings = spec.settings;

    this.proxy = new ProxyCore(users.proxyLayer, random, {
      router: (req, info) => this.route(req, info),
      aliases: [`${this.name}.${spec.domain}`.toLowerCase()],
      resolveHost: (h) => directory.resolveHost(h)?.address,
      // RFC 3329 §2.3.1: a P-CSCF without sec-agree answers Proxy-Require: sec-agree with 420.
      supported: settings.secAgree ? ['sec-agree', 'path'] : ['path'],
      trace,
      node: this.name,
    });
    this.ua = new UserAgent({
      node: this.name,
      transactions: users.uaLayer,
      clock,
      random,
      trace,
      contact: identity,
      identity: `<${identity}>`,
      resolveHost: (h) => directory.resolveHost(h)?.address,
    });
    if (settings.regEvent !== false) {
      this.regEvent = new RegEventSubscriber({
        node: this.name,
        trace,
        ua: this.ua,
        cache: this.cache,
        identity,
        chargingVector: () => newChargingVector(random, spec.address, this.visitedNetworkId),
        ...(settings.regEventExpires !== undefined ? { expires: settings.regEventExpires } : {}),
      });
    }
    this.register = new RegisterProcedure({
      node: this.name,
      trace,
      clock,
      random,
      address: spec.address,
      visitedNetworkId: this.visitedNetworkId,
      secAgree: settings.secAgree,
      icscf: { name: settings.icscf, destination: this.icscfDestination() },
      local,
      cache: this.cache,
      sas: this.sas,
      onRegistered: (reg, initial) => {
        if (initial) this.regEvent?.watch(reg);
      },
    });
    const proxy = this.proxy;
    this.sessions = new SessionRouting(
      {
        node: this.name,
        trace,
        random,
        address: spec.address,
        visitedNetworkId: this.visitedNetworkId,
        cache: this.cache,
        directory,
        icscf: this.icscfDestination(),
        isConnectionOpen: (id) => this.deps.transport.isConnectionOpen(id),
      },
      () => proxy.own,
    );
    trace.note({
      node: this.name,
      level: 'info',
      text: `P-CSCF up on ${this.deps.transport.listening.map((l) => `${l.transport}:${l.address}:${l.port}`).join(', ')}; REGISTER goes to ${settings.icscf}; sec-agree ${settings.secAgree ? 'offered' : 'off'}`,
      clause: 'TS 24.229 §5.2',
    });
  }

  async stop(): Promise<void> {
    this.regEvent?.stop();
    this.ua?.close();
    this.cache.close();
    this.sas.clear();
    this.deps.transactions.close();
    await this.deps.transport.close();
    this.started = false;
  }

  private register: RegisterProcedure | undefined;
  private sessions: SessionRouting | undefined;

  private get visitedNetworkId(): string {
    return this.deps.spec.settings.visitedNetworkId ?? this.deps.spec.domain;
  }

  private route(request: SipRequest, info: RequestInfo): ProxyDecision {
    if (request.method === 'REGISTER' && this.register) return this.register.handle(request, info);
    return this.sessions!.route(request, info);
  }

  /**
   * Where REGISTER goes (TS 24.229 §5.2.2.1): `settings.icscf` names a node of the topology (its address and
   * UDP port, else TCP), or is a SIP URI of an outside I-CSCF resolved with the directory.
   */
  private icscfDestination(): TransportAddress | undefined {
    const ref = this.deps.spec.settings.icscf;
    const { directory } = this.deps;
    if (/^sips?:/i.test(ref)) return resolveUri(ref, (h) => directory.resolveHost(h)?.address);
    const e = directory.find(ref);
    if (!e) return undefined;
    const transport: TransportProtocol = e.ports.udp !== undefined ? 'udp' : 'tcp';
    return { transport, address: e.address, port: e.ports[transport] ?? 5060 };
  }

  /** Requests whose Request-URI is the UA's own contact (a NOTIFY of our subscription) go to the UA. */
  private isForUa(request: SipRequest): boolean {
    // No "@", no user part, so not `pcscf@…`: every REGISTER (sip:domain) is told apart without parsing its URI.
    if (request.uri.indexOf('@') < 0) return false;
    try {
      const u = parseUri(request.uri);
      if (!isSipUri(u) || u.user !== UA_USER) return false;
      const host = canonicalHost(u.host);
      return this.deps.transport.listening.some((l) => canonicalHost(l.address) === host && (u.port ?? 5060) === l.port);
    } catch {
      return false;
    }
  }
}
