import { hexDigest } from '../../util/hex-digest.js';
import type { TraceBus } from '../../trace/events.js';
import type { Random } from '../../util/random.js';
import { MAGIC_COOKIE, parseVia, type Via } from '../headers/via.js';
import { parseCSeq } from '../headers/cseq.js';
import type { SipRequest, SipResponse } from '../message.js';
import type { TransactionLayer } from '../transaction/layer.js';
import { createResponse } from '../transaction/response.js';
import type { ServerTransaction } from '../transaction/types.js';
import { canonicalHost, defaultPort, hostPort } from '../transport/address.js';
import { responseDestination } from '../transport/inbound.js';
import type { ReceivedMessage, TransportAddress, TransportProtocol } from '../transport/types.js';
import { hasLooped, loopHash, proxyBranch } from './loop.js';
import { ResponseContext } from './response-context.js';
import { applyStrictRouting, nextHopUri, preprocessRoute, resolveUri, type OwnUris } from './routing.js';
import type { ForwardDecision, ProxyTarget, Router } from './types.js';
import { parseMaxForwards, validateRequest } from './validation.js';

export interface ProxyCoreOptions {
  /** The function logic: targets and header edits, or an answer (§16.5). */
  router: Router;
  /** Host names that also mean this node in Route and Record-Route URIs (its FQDN), besides its addresses. */
  aliases?: readonly string[];
  /** The topology's static name table (no DNS, RFC 3263 replaced): host name → IP address. */
  resolveHost?: (host: string) => string | undefined;
  /** Timer C (§16.6 step 11): more than 3 minutes; 181 s by default. */
  timerC?: number;
  /** Option tags this proxy understands in Proxy-Require (§16.3 step 5). */
  supported?: readonly string[];
  /** §16.3 step 4 loop detection (482); on by default. */
  loopDetection?: boolean;
  trace?: TraceBus;
  node?: string;
}

/**
 * A stateful proxy (RFC 3261 §16) on a TransactionLayer, shared by every CSCF: it validates (§16.3), pre-processes
 * Route (§16.4), asks the router for targets (§16.5), forwards and forks (§16.6), picks and relays responses
 * (§16.7), runs Timer C (§16.8), handles CANCEL (§16.10) and relays ACKs for 2xx and stray 2xx (§16.11,
 * RFC 6026). The INVITE server transactions of the layer should send 100 (Trying) at once (`trying: 'immediate'`).
 */
export class ProxyCore {
  readonly own: OwnUris;
  private readonly contexts = new Map<ServerTransaction, ResponseContext>();
  private readonly supported: ReadonlySet<string>;
  private readonly timerC: number;

  constructor(
    readonly layer: TransactionLayer,
    private readonly random: Random,
    private readonly options: ProxyCoreOptions,
  ) {
    const listening = layer.transport.listening;
    this.own = {
      hosts: [...new Set([...listening.map((l) => l.address), ...(options.aliases ?? [])])],
      ports: [...new Set(listening.map((l) => l.port))],
    };
    this.supported = new Set((options.supported ?? []).map((t) => t.toLowerCase()));
    this.timerC = options.timerC ?? 181_000;
    layer.onRequest((txn, request, received) => void this.onRequest(txn, request, received));
    layer.onAck((ack, received) => void this.onAck(ack, received));
    layer.onStrayResponse((response) => this.onStrayResponse(response));
  }

  /**
   * Forgets the context of `txn`. Made here, not inline in onRequest: a closure there would hold that async
   * function's whole scope (the request, its working copy, the context and its branches) for as long as the
   * server transaction keeps the listener, 64·T1 over UDP (§17.2.2 Timer J).
   */
  private forgetter(txn: ServerTransaction): () => void {
    return () => {
      this.contexts.delete(txn);
    };
  }

  /** Requests being proxied now. */
  get activeContexts(): number {
    return this.contexts.size;
  }

  /** Whether a Via was written by this node (sent-by one of its hosts and ports). */
  isOwnVia(via: Via): boolean {
    const host = canonicalHost(via.host);
    const port = via.port ?? defaultPort(via.transport.toLowerCase() === 'tls' ? 'tls' : 'udp');
    return this.own.hosts.some((h) => canonicalHost(h) === host) && this.own.ports.includes(port);
  }

  /** This proxy's Record-Route URI for a transport (§16.6 step 4): its address and port, the transport, `lr`. */
  recordRouteUri(transport: TransportProtocol, r2 = false): string {
    const local = this.layer.transport.localAddress(transport);
    let uri = `sip:${hostPort(local.address, local.port)}`;
    if (transport !== 'udp') uri += `;transport=${transport}`;
    if (r2) uri += ';r2=on';
    return uri + ';lr';
  }

  private async onRequest(txn: ServerTransaction, request: SipRequest, received: ReceivedMessage): Promise<void> {
    try {
      if (request.method === 'CANCEL' && this.cancelContext(txn, request)) return;
      const failure = validateRequest(request, this.supported);
      if (failure) {
        this.note(`${request.method} refused with ${failure.status}: ${failure.why}`, 'RFC 3261 §16.3');
        const r = createResponse(request, failure.status, failure.reason, this.random.token(8));
        for (const [n, v] of failure.headers) r.headers.append(n, v);
        txn.respond(r);
        return;
      }
      const hash = loopHash(request);
      if (this.options.loopDetection !== false && hasLooped(request, hash, (v) => this.isOwnVia(v))) {
        this.note('loop detected: a Via of ours carries the same loop hash (§16.3 step 4)', 'RFC 3261 §16.3');
        txn.respond(createResponse(request, 482, undefined, this.random.token(8)));
        return;
      }
      const working = request.clone();
      const routedToUs = preprocessRoute(working, this.own);
      const ctx = new ResponseContext(
        { layer: this.layer, timerC: this.timerC, relayStateless: (r) => this.relayResponse(r), settled: this.forgetter(txn) },
        txn,
        request.method,
      );
      this.contexts.set(txn, ctx);
      txn.onTerminated(this.forgetter(txn));

      const decision = await this.options.router(working, { received, transaction: txn, routedToUs });
      if (txn.state === 'terminated' || ctx.finalSent) return;
      if (decision.action === 'respond') {
        ctx.respondUpstream(decision.response);
        return;
      }
      if (decision.action === 'drop') {
        // A request must be answered (§16.5); a router that drops one gets a 500 sent for it.
        ctx.respondUpstream(createResponse(request, 500, undefined, this.random.token(8)));
        return;
      }
      if (decision.targets.length === 0) {
        // §16.6: an empty target set is answered, 480 by preference.
        ctx.respondUpstream(createResponse(request, 480, undefined, this.random.token(8)));
        return;
      }
      ctx.decision = decision;
      for (const target of decision.targets) {
        const copy = this.prepareBranch(working, decision, target, received);
        ctx.fork(target, copy.request, copy.destination, proxyBranch(hash, this.random));
      }
    } catch (err) {
      this.note(`proxy failed on ${request.method}: ${(err as Error).message}`, 'RFC 3261 §16');
      if (txn.state === 'trying' || txn.state === 'proceeding') {
        txn.respond(createResponse(request, 500, undefined, this.random.token(8)));
      }
    }
  }

  /**
   * §16.6 steps 1-7 for one target: copy, Request-URI, Max-Forwards, Record-Route, the logic's header edits,
   * pre-loaded Route, strict-router interop, next hop. Via (step 8) is pushed by the transaction layer.
   */
  private prepareBranch(
    working: SipRequest,
    decision: ForwardDecision,
    target: ProxyTarget,
    received: ReceivedMessage | undefined,
  ): { request: SipRequest; destination: TransportAddress | undefined } {
    const req = working.clone();
    req.uri = target.uri;
    const mf = req.headers.get('Max-Forwards');
    const n = mf === undefined ? undefined : parseMaxForwards(mf);
    req.headers.set('Max-Forwards', String(n === undefined ? 70 : n - 1));
    decision.edit?.(req);
    target.edit?.(req);
    if (target.route) for (let i = target.route.length - 1; i >= 0; i--) req.headers.prepend('Route', target.route[i]!);
    const strict = applyStrictRouting(req);
    const destination = target.nextHop ?? resolveUri(nextHopUri(req, strict), (h) => this.options.resolveHost?.(h));
    if (decision.recordRoute && received) {
      if (typeof decision.recordRoute === 'string') {
        req.headers.prepend('Record-Route', decision.recordRoute.startsWith('<') ? decision.recordRoute : `<${decision.recordRoute}>`);
      } else {
        const inbound = received.local.transport;
        const outbound = destination?.transport ?? inbound;
        // RFC 5658 §3.2: one value per interface when the request changes transport; the top one faces downstream.
        if (outbound !== inbound) req.headers.prepend('Record-Route', `<${this.recordRouteUri(inbound, true)}>`);
        req.headers.prepend('Record-Route', `<${this.recordRouteUri(outbound, outbound !== inbound)}>`);
      }
    }
    return { request: req, destination };
  }

  /** §16.10: a CANCEL for a request in progress is answered here and cancels the branches. */
  private cancelContext(txn: ServerTransaction, cancel: SipRequest): boolean {
    const invite = this.layer.findInviteServerTransaction(cancel);
    const ctx = invite ? this.contexts.get(invite) : undefined;
    if (!ctx) return false; // unknown: forwarded like any request (§16.10 last paragraph).
    txn.respond(createResponse(cancel, 200));
    const reason = cancel.headers.getAll('Reason').map((v) => ['Reason', v] as const);
    ctx.cancel(reason);
    return true;
  }

  /**
   * An ACK for a 2xx (no server transaction absorbed it): route it like the INVITE, statelessly, with a branch
   * derived from the incoming one so that its retransmissions get the same branch (§16.11).
   */
  private async onAck(ack: SipRequest, received: ReceivedMessage): Promise<void> {
    try {
      const mf = ack.headers.get('Max-Forwards');
      if (mf !== undefined && parseMaxForwards(mf) === 0) return;
      const working = ack.clone();
      const routedToUs = preprocessRoute(working, this.own);
      const decision = await this.options.router(working, { received, routedToUs });
      if (decision.action !== 'forward' || decision.targets.length === 0) return;
      const { request, destination } = this.prepareBranch(working, { ...decision, recordRoute: false }, decision.targets[0]!, undefined);
      if (!destination) return;
      const incoming = parseVia(ack.headers.first('Via') ?? '');
      const branch = MAGIC_COOKIE + hexDigest('md5', `${incoming.branch ?? ''}|${incoming.host}|${incoming.port ?? ''}|ack`).slice(0, 16);
      request.headers.prepend('Via', this.layer.viaFor(destination.transport, branch));
      await this.layer.sendStateless(request, destination);
    } catch (err) {
      this.note(`ACK not forwarded: ${(err as Error).message}`, 'RFC 3261 §16.11');
    }
  }

  /** A 2xx to INVITE that matched no client transaction (a fork after Timer M): relayed statelessly (RFC 6026). */
  private onStrayResponse(response: SipResponse): void {
    try {
      if (response.status < 200 || response.status >= 300) return;
      if (parseCSeq(response.headers.get('CSeq') ?? '').method !== 'INVITE') return;
      const top = parseVia(response.headers.first('Via') ?? '');
      if (!this.isOwnVia(top)) return;
      response.headers.shift('Via');
      this.relayResponse(response);
    } catch (err) {
      this.note(`stray response dropped: ${(err as Error).message}`, 'RFC 3261 §16.7');
    }
  }

  /** Sends a response (own Via already removed) to where its next Via says (§18.2.2). */
  private relayResponse(response: SipResponse): void {
    const next = response.headers.first('Via');
    if (next === undefined) return;
    const destination = responseDestination(parseVia(next));
    if (!destination) return;
    this.layer.sendStateless(response, destination).catch((err: unknown) => {
      this.note(`stateless relay failed: ${(err as Error).message}`, 'RFC 3261 §16.11');
    });
  }

  private note(text: string, clause: string): void {
    this.options.trace?.note({ node: this.options.node ?? 'proxy', level: 'warn', text, clause });
  }
}
