import { ProxyCore } from '../sip/proxy/proxy-core.js';
import { resolveUri } from '../sip/proxy/routing.js';
import type { ProxyDecision, ProxyTarget, RequestInfo } from '../sip/proxy/types.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { parseNameAddr } from '../sip/headers/name-addr.js';
import { createResponse, hasTag } from '../sip/transaction/response.js';
import type { TransportAddress } from '../sip/transport/types.js';
import { isSipUri, parseUri } from '../sip/uri.js';
import type { NetworkNode } from '../topology/network-node.js';
import type { TimerHandle } from '../util/clock.js';
import { DigestAuthenticator } from './digest-authenticator.js';
import { LocationService } from './location-service.js';
import { Registrar } from './registrar.js';
import { proxySettings, type ProxySettings } from './settings.js';
import { addressOfRecord, UserDirectory, type UserRecord } from './users.js';
import type { SipNodeDeps } from '../topology/sip-node-deps.js';

export interface ProxyNodeDeps extends SipNodeDeps {
  /** The realm's users (the topology's subscribers with a password). */
  users: Iterable<UserRecord>;
}

/** Methods a proxy never challenges (§22.3: ACK and CANCEL cannot be resubmitted; BYE ends what was allowed). */
const NEVER_CHALLENGED = new Set(['ACK', 'CANCEL', 'BYE']);
const SWEEP_MS = 60_000;

/**
 * The classic SIP server of RFC 3261 as one network function: a registrar (§10.3) with SIP digest (§22), its
 * location service, and either a stateful proxy (§16, on the shared ProxyCore) that forwards requests for
 * registered AORs to their contacts — forking when there are several — or a redirect server (§8.3) that
 * answers 302 with them. Requests for other domains go to `next`, or where their Request-URI points.
 */
export class ProxyNode implements NetworkNode {
  readonly kind = 'proxy' as const;
  readonly settings: ProxySettings;
  readonly location: LocationService;
  readonly users: UserDirectory;
  readonly authenticator: DigestAuthenticator | undefined;
  readonly registrar: Registrar;
  private core: ProxyCore | undefined;
  private sweepTimer: TimerHandle | undefined;
  private started = false;
  private readonly domain: string;

  constructor(private readonly deps: ProxyNodeDeps) {
    this.settings = proxySettings(deps.spec.settings);
    this.domain = deps.spec.domain.toLowerCase();
    this.location = new LocationService(deps.clock);
    this.users = new UserDirectory(deps.users, this.domain);
    this.authenticator =
      this.settings.auth === false
        ? undefined
        : new DigestAuthenticator({ realm: this.domain, users: this.users, clock: deps.clock, random: deps.random });
    this.registrar = new Registrar({
      location: this.location,
      users: this.users,
      authenticator: this.authenticator,
      clock: deps.clock,
      random: deps.random,
      ...(this.settings.minExpires !== undefined ? { minExpires: this.settings.minExpires } : {}),
      ...(this.settings.maxExpires !== undefined ? { maxExpires: this.settings.maxExpires } : {}),
    });
  }

  get name(): string {
    return this.deps.spec.name;
  }

  /** The proxy core, once started (tests read its contexts). */
  get proxy(): ProxyCore | undefined {
    return this.core;
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.deps.transport.start();
    this.started = true;
    this.core = new ProxyCore(this.deps.transactions, this.deps.random, {
      router: (req, info) => this.route(req, info),
      aliases: [`${this.name}.${this.domain}`],
      resolveHost: (h) => this.deps.directory.resolveHost(h)?.address,
      trace: this.deps.trace,
      node: this.name,
    });
    const sweep = () => {
      this.location.sweep();
      this.sweepTimer = this.deps.clock.setTimeout(sweep, SWEEP_MS);
    };
    this.sweepTimer = this.deps.clock.setTimeout(sweep, SWEEP_MS);
  }

  async stop(): Promise<void> {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
    this.authenticator?.clear();
    this.deps.transactions.close();
    await this.deps.transport.close();
    this.started = false;
  }

  /** §16.5: the targets of a request, or the answer this node gives itself. */
  private route(req: SipRequest, info: RequestInfo): ProxyDecision {
    const method = req.method;
    const local = this.localUser(req.uri);

    // §10.3 step 1: a REGISTER for our domain is ours; for another domain it is proxied like any request.
    if (method === 'REGISTER' && local !== undefined && local.user === undefined) return respond(this.registrar.handle(req));

    // A Route left after pre-processing (§16.4) names the next hop: loose routing, no look-up (§16.5).
    if (req.headers.first('Route') !== undefined) return this.forward(req, [{ uri: req.uri }]);

    // In-dialog without a Route (no proxy record-routed, or we were the last): the Request-URI is the remote target.
    if (hasTag(req.headers.get('To') ?? '')) return this.forward(req, [{ uri: req.uri }]);

    if (local === undefined || local.user === undefined) {
      if (this.settings.mode === 'redirect') return respond(this.reply(req, 404, 'Not Found (a redirect server for its own domain only)'));
      const next = this.nextHop();
      return this.forward(req, [{ uri: req.uri, ...(next ? { nextHop: next } : {}) }]);
    }

    // §16.10: a CANCEL with no response context here has nothing to cancel.
    if (method === 'CANCEL') return respond(this.reply(req, 481));

    // §22.3: a proxy authenticates the originators it serves, those of its own domain.
    if (this.settings.auth === true && !NEVER_CHALLENGED.has(method) && this.fromOwnDomain(req)) {
      const auth = this.authenticator!;
      const outcome = auth.verify(req, 'proxy');
      if (outcome.kind === 'challenge') {
        const r = this.reply(req, 407);
        r.headers.append('Proxy-Authenticate', auth.challenge(outcome.stale));
        return respond(r);
      }
      if (outcome.kind === 'forbidden') return respond(this.reply(req, 403, `Forbidden (${outcome.reason})`));
      // §22.3: the credentials were for us; they are not forwarded.
      req.headers.delete('Proxy-Authorization');
    }

    const aor = `sip:${local.user}@${this.domain}`;
    const bindings = this.location.lookup(aor);
    if (bindings.length === 0) {
      // §16.5: a known AOR with no binding is temporarily unavailable; an unknown one does not exist.
      return respond(this.reply(req, this.users.owner(aor) || this.settings.auth === false ? 480 : 404));
    }
    if (this.settings.mode === 'redirect') {
      // §8.3 / §21.3.3: 302 with the contacts to try, in q order; the caller's UA recurses on them.
      const r = this.reply(req, 302);
      for (const b of bindings) r.headers.append('Contact', `<${b.uri}>${b.q !== undefined ? `;q=${b.q}` : ''}`);
      return respond(r);
    }
    // §16.6: one branch per contact, all in parallel (the location service gives them highest q first).
    return this.forward(
      req,
      bindings.map((b) => ({ uri: b.uri })),
    );
  }

  private forward(req: SipRequest, targets: ProxyTarget[]): ProxyDecision {
    // §16.6 step 4: Record-Route on requests that may form a dialog, so that its later requests come through us.
    const initial = !hasTag(req.headers.get('To') ?? '') && req.method !== 'REGISTER';
    return { action: 'forward', targets, recordRoute: this.settings.recordRoute && initial };
  }

  /** The next hop for requests that are not ours: the configured `next`, by node name or URI. */
  private nextHop(): TransportAddress | undefined {
    const next = this.settings.next;
    if (!next) return undefined;
    if (next.kind === 'uri') return resolveUri(next.uri, (h) => this.deps.directory.resolveHost(h)?.address);
    const e = this.deps.directory.find(next.name);
    if (!e) return undefined;
    const transport = e.ports.udp !== undefined ? 'udp' : e.ports.tcp !== undefined ? 'tcp' : 'tls';
    return { transport, address: e.address, port: e.ports[transport]! };
  }

  /** Whether a URI is in this node's domain (by name, or by one of its own addresses): its user part, if any. */
  private localUser(uri: string): { user: string | undefined } | undefined {
    let u;
    try {
      u = parseUri(uri);
    } catch {
      return undefined;
    }
    if (!isSipUri(u)) return undefined;
    const host = u.host.toLowerCase();
    if (host !== this.domain && !(this.core?.own.hosts.includes(host) && (u.port === undefined || this.core.own.ports.includes(u.port)))) return undefined;
    return { user: u.user };
  }

  private fromOwnDomain(req: SipRequest): boolean {
    let aor: string | undefined;
    try {
      aor = addressOfRecord(parseNameAddr(req.headers.get('From') ?? '').uri);
    } catch {
      return false;
    }
    return aor !== undefined && aor.endsWith(`@${this.domain}`);
  }

  private reply(req: SipRequest, status: number, reason?: string): SipResponse {
    return createResponse(req, status, reason, this.deps.random.token(8));
  }
}

function respond(response: SipResponse): ProxyDecision {
  return { action: 'respond', response };
}
