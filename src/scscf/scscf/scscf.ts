import { CxCommandCode, ExperimentalResultCode as X, ReasonCode } from '../../diameter/cx/constants.js';
import { PushProfileAnswer, PushProfileRequest } from '../../diameter/cx/push-profile.js';
import { RegistrationTerminationAnswer, RegistrationTerminationRequest } from '../../diameter/cx/registration-termination.js';
import type { DiameterMessage } from '../../diameter/message.js';
import { DiameterAnswerError } from '../../diameter/node.js';
import { ResultCode } from '../../diameter/result-codes.js';
import type { SipRequest } from '../../sip/message.js';
import { ProxyCore } from '../../sip/proxy/proxy-core.js';
import type { ProxyDecision, RequestInfo } from '../../sip/proxy/types.js';
import type { TransactionLayer } from '../../sip/transaction/layer.js';
import type { TransportLayer } from '../../sip/transport/layer.js';
import { resolveUri } from '../../sip/proxy/routing.js';
import type { TransportAddress, TransportProtocol } from '../../sip/transport/types.js';
import { reachableUri, type Directory } from '../../topology/directory.js';
import type { NetworkNode } from '../../topology/network-node.js';
import type { NodeSpec, ScscfSettings } from '../../topology/node-spec.js';
import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import { HssLink } from '../hss-link.js';
import { TrustBoundary } from '../trust-domain.js';
import { parseUserProfile } from '../user-profile.js';
import { RegEventNotifier } from './reg-event.js';
import { Registrar } from './registrar.js';
import { MemoryRegistrationStore, type RegistrationStore } from './registration-store.js';
import { SessionRouter } from './session-router.js';
import { NO_SERVICES, type OriginatingServices, type TerminatingServices } from './services.js';

/** S-CSCF settings: the contract's fields, plus lab knobs with TS 24.229 defaults. */
export interface ScscfNodeSettings extends ScscfSettings {
  /** Expiry granted when the REGISTER names none, s (default 3600, the lab's). */
  defaultExpires?: number;
  /** Cx request timeout in ms (default 5000). */
  diameterTimeoutMs?: number;
  /** How long a challenge may be answered, ms (default 2 × reg-await-auth). */
  challengeLifetimeMs?: number;
  /**
   * The home network's I-CSCF for originating requests to home identities (node name or sip: URI); default the
   * topology's first I-CSCF of the same domain. Without one the S-CSCF terminates such requests itself.
   */
  icscf?: string;
  /** Timer C of the proxy core (RFC 3261 §16.6 step 11), ms; default 181 s. */
  timerC?: number;
}

export interface ScscfDeps {
  spec: NodeSpec<ScscfNodeSettings>;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  directory: Directory;
  transport: TransportLayer;
  transactions: TransactionLayer;
  store?: RegistrationStore;
  /** iFC evaluation (TS 24.229 §5.4.3.2/§5.4.3.3 step 4); none triggers any application server by default. */
  services?: OriginatingServices & TerminatingServices;
}

/**
 * The S-CSCF (TS 24.229 §5.4): registrar for its users (§5.4.1), reg event notifier (§5.4.2), and Cx client
 * toward the HSS, which may end a registration (RTR, §5.4.1.5) or change a profile (PPR) over the same
 * Diameter connection; and the session router of §5.4.3 for the originating and terminating sides and for
 * requests inside the dialogs it record-routes.
 */
export class Scscf implements NetworkNode {
  readonly kind = 'scscf' as const;
  readonly name: string;
  readonly store: RegistrationStore;
  readonly hss: HssLink;
  /** Server-Name in MAR/SAR: settings.serverName, else `sip:<fqdn>:<port>` (contract "Addresses and names"). */
  readonly serverName: string;
  registrar!: Registrar;
  regEvent!: RegEventNotifier;
  sessions!: SessionRouter;
  private proxy: ProxyCore | undefined;
  private readonly warnAgent: string;
  private readonly boundary: TrustBoundary;

  constructor(private readonly deps: ScscfDeps) {
    const { spec } = deps;
    this.name = spec.name;
    // A REGISTER reaches the S-CSCF through an I-CSCF, which already removed integrity-protected from anyone
    // but a P-CSCF (trust-domain.ts); from any other source it is removed here, so the registrar challenges.
    this.boundary = new TrustBoundary({
      node: spec.name,
      trace: deps.trace,
      directory: deps.directory,
      integrityFrom: ['pcscf', 'icscf'],
      identityFrom: ['pcscf', 'icscf', 'scscf', 'as'],
      ...(spec.settings.trustedPeers ? { trustedPeers: spec.settings.trustedPeers } : {}),
    });
    this.store = deps.store ?? new MemoryRegistrationStore();
    const port = spec.ports.udp ?? spec.ports.tcp ?? 5060;
    this.serverName = spec.settings.serverName ?? reachableUri(`${spec.name}.${spec.domain}`, spec.ports).toLowerCase();
    this.warnAgent = `${host(spec.address)}:${port}`;
    this.hss = new HssLink({
      spec,
      directory: deps.directory,
      clock: deps.clock,
      random: deps.random,
      trace: deps.trace,
      hss: spec.settings.hss,
      ...(spec.settings.diameterTimeoutMs !== undefined ? { requestTimeoutMs: spec.settings.diameterTimeoutMs } : {}),
      ...(spec.settings.diameterTcMs !== undefined ? { reconnectIntervalMs: spec.settings.diameterTcMs } : {}),
    });
    this.hss.diameter.onRequest(CxCommandCode.RegistrationTermination, (req) => this.onRtr(req));
    this.hss.diameter.onRequest(CxCommandCode.PushProfile, (req) => this.onPpr(req));
  }

  /** The URI this node puts in Service-Route and Contact: its IP, never its FQDN (contract). */
  ownUri(transport: TransportProtocol, user?: string): string {
    const local = this.deps.transport.localAddress(transport);
    return `sip:${user ? `${user}@` : ''}${host(local.address)}:${local.port}${transport === 'udp' ? '' : `;transport=${transport}`}`;
  }

  async start(): Promise<void> {
    const { spec, clock, random, trace } = this.deps;
    await this.deps.transport.start();
    await this.hss.start();
    const udpOrTcp: TransportProtocol = spec.ports.udp !== undefined ? 'udp' : 'tcp';
    this.regEvent = new RegEventNotifier({
      node: this.name,
      clock,
      random,
      trace,
      directory: this.deps.directory,
      transactions: this.deps.transactions,
      store: this.store,
      warnAgent: this.warnAgent,
      contact: (t) => this.ownUri(this.deps.transport.listening.some((l) => l.transport === t) ? t : udpOrTcp),
    });
    this.registrar = new Registrar({
      node: this.name,
      clock,
      random,
      trace,
      store: this.store,
      hss: this.hss,
      serverName: this.serverName,
      // RFC 3608 + TS 24.229 §5.4.1.2.2: `orig` marks originating requests coming back along it.
      serviceRoute: `${this.ownUri(udpOrTcp, 'orig')};lr`,
      realm: this.deps.directory.homeDomain,
      warnAgent: this.warnAgent,
      minExpires: spec.settings.minExpires ?? 60,
      maxExpires: spec.settings.maxExpires ?? 600_000,
      defaultExpires: spec.settings.defaultExpires ?? 3600,
      ...(spec.settings.challengeLifetimeMs !== undefined ? { challengeLifetimeMs: spec.settings.challengeLifetimeMs } : {}),
      onChange: (c) => this.regEvent.changed(c),
    });
    // A persistent store comes back with the registrations confirmed before a restart (issue 8 point 2).
    this.registrar.restore();
    this.proxy = new ProxyCore(this.deps.transactions, random, {
      router: (req, info) => this.route(req, info),
      aliases: [`${spec.name}.${spec.domain}`.toLowerCase()],
      resolveHost: (h) => this.deps.directory.resolveHost(h)?.address,
      supported: ['path'],
      trace,
      node: this.name,
      ...(spec.settings.timerC !== undefined ? { timerC: spec.settings.timerC } : {}),
    });
    this.sessions = new SessionRouter({
      node: this.name,
      domain: spec.domain,
      clock,
      random,
      trace,
      directory: this.deps.directory,
      store: this.store,
      warnAgent: this.warnAgent,
      own: this.proxy.own,
      icscf: this.homeIcscf(),
      services: this.deps.services ?? NO_SERVICES,
    });
    trace.note({ node: this.name, level: 'info', text: `S-CSCF up as ${this.serverName}`, clause: 'TS 24.229 §5.4' });
  }

  async stop(): Promise<void> {
    this.registrar?.stop();
    this.regEvent?.stop();
    this.deps.transactions.close();
    await this.deps.transport.close();
    await this.hss.close();
    this.store.close?.();
  }

  private async route(request: SipRequest, info: RequestInfo): Promise<ProxyDecision> {
    this.boundary.admit(request, info.received.source);
    if (request.method === 'REGISTER') return { action: 'respond', response: await this.registrar.register(request, info.received) };
    // Every SUBSCRIBE is the reg event notifier's until iFCs route other packages to application servers (489 meanwhile).
    if (request.method === 'SUBSCRIBE') {
      return { action: 'respond', response: this.regEvent.subscribe(request, info.received) };
    }
    return this.sessions.route(request, info);
  }

  /** Where originating requests to home identities go (settings.icscf, else the topology's I-CSCF). */
  private homeIcscf(): TransportAddress | undefined {
    const { directory, spec } = this.deps;
    const configured = spec.settings.icscf;
    const byUri = configured?.startsWith('sip:') ? resolveUri(configured, (h) => directory.resolveHost(h)?.address) : undefined;
    if (byUri) return byUri;
    const all = directory.ofKind('icscf');
    const e = configured !== undefined ? directory.find(configured) : (all.find((n) => n.domain === spec.domain) ?? all[0]);
    if (!e) {
      this.deps.trace.note({
        node: this.name,
        level: configured !== undefined ? 'warn' : 'info',
        text: configured !== undefined ? `settings.icscf "${configured}" names no node: originating requests to home identities terminate here` : 'no I-CSCF in the topology: originating requests to home identities terminate here',
        clause: 'TS 24.229 §5.4.3.2',
      });
      return undefined;
    }
    const transport: TransportProtocol = e.ports.udp !== undefined ? 'udp' : 'tcp';
    return { transport, address: e.address, port: e.ports[transport] ?? 5060 };
  }

  /** RTR (TS 29.228 §6.1.3, TS 24.229 §5.4.1.5): the named identities' registrations go; RTA 2001. */
  private onRtr(message: DiameterMessage): DiameterMessage {
    const rtr = RegistrationTerminationRequest.decode(message);
    const impis = new Set<string>([rtr.userName, ...(rtr.associatedIdentities ?? [])]);
    for (const impu of rtr.publicIdentities ?? []) {
      const r = this.store.byImpu(impu);
      if (r) impis.add(r.impi);
    }
    // PERMANENT_TERMINATION: the subscription is gone, the UE must not come back (rejected); otherwise it should
    // register again, which may land it on another S-CSCF (deactivated) — TS 24.229 §5.4.1.5.
    const event = rtr.deregistrationReason.reasonCode === ReasonCode.PERMANENT_TERMINATION ? 'rejected' : 'deactivated';
    const removed = [...impis].filter((impi) => this.registrar.deregisterByNetwork(impi, event));
    this.deps.trace.note({
      node: this.name,
      level: 'info',
      text: `RTR for ${rtr.userName}: ${removed.length ? `removed ${removed.join(', ')} (${event})` : 'nothing registered here'}; answering DIAMETER_SUCCESS`,
      clause: 'TS 29.228 §6.1.3.1',
    });
    return RegistrationTerminationAnswer.encode({ resultCode: ResultCode.DIAMETER_SUCCESS });
  }

  /** PPR (TS 29.228 §6.1.5): a new profile for a user held here; PPA 2001, or USER_UNKNOWN. */
  private onPpr(message: DiameterMessage): DiameterMessage {
    const ppr = PushProfileRequest.decode(message);
    if (ppr.userData === undefined) return PushProfileAnswer.encode({ resultCode: ResultCode.DIAMETER_SUCCESS });
    let profile;
    try {
      profile = parseUserProfile(ppr.userData);
    } catch (e) {
      throw new DiameterAnswerError(ResultCode.DIAMETER_INVALID_AVP_VALUE, `User-Data: ${(e as Error).message}`);
    }
    const outcome = this.registrar.updateProfile(ppr.userName, profile);
    this.deps.trace.note({
      node: this.name,
      level: 'info',
      text: `PPR for ${ppr.userName}: ${outcome === 'unknown' ? 'not held here; answering DIAMETER_ERROR_USER_UNKNOWN' : `profile replaced${outcome === 'new-set' ? ', implicit set changed: watchers notified' : ''}`}`,
      clause: 'TS 29.228 §6.1.5',
    });
    if (outcome === 'unknown') return PushProfileAnswer.encode({ experimentalResultCode: X.DIAMETER_ERROR_USER_UNKNOWN });
    return PushProfileAnswer.encode({ resultCode: ResultCode.DIAMETER_SUCCESS });
  }
}

function host(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
