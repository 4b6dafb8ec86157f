import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import type { TraceBus } from '../../trace/events.js';
import type { TlsCredentials } from '../../tls/authority.js';
import { isRequest, type SipMessage, type SipRequest, type SipResponse } from '../message.js';
import { parseMessage, SipParseError } from '../parser.js';
import { serializeMessage } from '../serializer.js';
import { topVia as readTopVia, type Via } from '../headers/via.js';
import { describe, hostPort, ipFamily, isLoopback } from './address.js';
import { LinkImpairment, type ImpairmentProfile } from './impairment.js';
import {
  badRequest,
  isOwnSentBy,
  missingEssential,
  responseDestination,
  restoreTopVia,
  rewriteTopVia,
  stampReceived,
  type SentByIdentity,
} from './inbound.js';
import { StreamTransport, tcpSockets } from './tcp.js';
import { TransportCounters } from './counters.js';
import { refusalOf, type Admission } from './limits.js';
import { tlsSockets } from './tls.js';
import {
  TransportError,
  type ReceivedMessage,
  type SendOptions,
  type SipTransportLayer,
  type TransportAddress,
  type TransportProtocol,
} from './types.js';
import { UdpTransport } from './udp.js';
import type { WireMessage } from './wire.js';

export interface TransportLimits {
  /**
   * Largest request sent over UDP; a larger one goes over TCP when the node has TCP (RFC 3261 §18.1.1:
   * 1300 bytes when the path MTU is unknown, i.e. an MTU of 1500 minus 200).
   */
  maxUdpRequest: number;
  /** Largest message accepted or sent, on any transport. */
  maxMessageSize: number;
  /** Open TCP connections at most, and TLS connections at most (each). */
  maxConnections: number;
  /** Bytes queued towards a stream peer that does not read before the connection is dropped. */
  maxBufferedBytes: number;
  /** Time allowed to open a TCP/TLS connection (ms). */
  connectTimeout: number;
  /** A TCP/TLS connection without traffic for this long is closed (ms, 0 = never). */
  idleTimeout: number;
}

export const DEFAULT_LIMITS: TransportLimits = {
  maxUdpRequest: 1300,
  maxMessageSize: 65_535,
  maxConnections: 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  connectTimeout: 5_000,
  idleTimeout: 600_000,
};

export interface TransportLayerOptions {
  /** The node's name on the trace. */
  node: string;
  /** The one address the node binds (IPv4 loopback 127.x.y.z or ::1). */
  address: string;
  /** Names the node also writes in Via sent-by (e.g. its FQDN), so responses to them are recognised. */
  hostNames?: readonly string[];
  /** Ports per transport; a transport that is absent is not offered. 0 = ephemeral. */
  ports: { udp?: number; tcp?: number; tls?: number };
  trace: TraceBus;
  clock: Clock;
  /** Draws To tags for 400 responses and the fates of impaired datagrams. */
  random: Random;
  /** Required when `ports.tls` is set. */
  tls?: Pick<TlsCredentials, 'key' | 'cert' | 'ca'>;
  limits?: Partial<TransportLimits>;
  /** A bad link on the send path (see impairment.ts); change it later through `impairment`. */
  impairment?: ImpairmentProfile;
  /** Rate, size and header-count limits on inbound requests (limits.ts); set later through `admission`. */
  admission?: Admission;
}

/**
 * The transport layer of one node (RFC 3261 §18): a UDP socket, a TCP listener and a TLS listener on the
 * node's own address, behind the SipTransportLayer contract. It parses what arrives, applies the server
 * and client transport rules of §18.1.2 and §18.2.1 (with RFC 3581 rport), answers unparseable requests
 * with 400, and on the way out picks the connection or address of §18.1.1 and §18.2.2.
 */
export class TransportLayer implements SipTransportLayer {
  /** The link the node sends through; set a profile here to make it lossy, slow or disorderly. */
  readonly impairment: LinkImpairment;
  readonly limits: TransportLimits;
  /** Messages in and out, 400s sent, drops by reason (issue 8 point 5). */
  readonly counters = new TransportCounters();
  private readonly udp: UdpTransport | undefined;
  private readonly tcp: StreamTransport | undefined;
  private readonly tls: StreamTransport | undefined;
  private handler: ((m: ReceivedMessage) => void) | undefined;
  /** Asked for every inbound request before the layer above sees it (issue 8 point 4). */
  admission: Admission | undefined;
  private bound: TransportAddress[] = [];
  private started = false;
  private closed = false;

  constructor(private readonly options: TransportLayerOptions) {
    const { node, address, ports, trace, clock } = options;
    if (ipFamily(address) === 0) throw new Error(`transport of ${node}: "${address}" is not an IP address`);
    if (!isLoopback(address)) throw new Error(`transport of ${node}: ${address} is not a loopback address`);
    if (ports.udp === undefined && ports.tcp === undefined && ports.tls === undefined) {
      throw new Error(`transport of ${node}: no transport configured`);
    }
    if (ports.tls !== undefined && !options.tls) throw new Error(`transport of ${node}: TLS needs credentials`);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.admission = options.admission;
    // Impairment draws come from their own fork when the node's Random can fork, so that turning loss on
    // does not change the node's tags and branches.
    const fork = (options.random as { fork?: (label: string) => Random }).fork;
    const linkRandom = typeof fork === 'function' ? fork.call(options.random, 'link') : options.random;
    this.impairment = new LinkImpairment(linkRandom, clock, options.impairment);
    const l = this.limits;
    const stream = (port: number, factory: typeof tcpSockets) =>
      new StreamTransport({
        node,
        address,
        port,
        trace,
        clock,
        factory,
        impairment: this.impairment,
        maxMessageSize: l.maxMessageSize,
        maxConnections: l.maxConnections,
        maxBufferedBytes: l.maxBufferedBytes,
        connectTimeout: l.connectTimeout,
        idleTimeout: l.idleTimeout,
      });
    if (ports.udp !== undefined) {
      this.udp = new UdpTransport({
        node,
        address,
        port: ports.udp,
        trace,
        clock,
        impairment: this.impairment,
        maxMessageSize: l.maxMessageSize,
      });
      this.udp.onDatagram((m) => this.receive(m));
    }
    if (ports.tcp !== undefined) {
      this.tcp = stream(ports.tcp, tcpSockets);
      this.tcp.onMessage((m) => this.receive(m));
    }
    if (ports.tls !== undefined) {
      this.tls = stream(ports.tls, tlsSockets(options.tls!));
      this.tls.onMessage((m) => this.receive(m));
    }
  }

  get listening(): readonly TransportAddress[] {
    return this.bound;
  }

  /** Binds every configured transport; on failure closes what was bound and rejects. */
  async start(): Promise<void> {
    if (this.started) throw new Error(`transport of ${this.options.node} already started`);
    this.started = true;
    try {
      const bound: TransportAddress[] = [];
      const udp = this.udp ? await this.udp.start() : undefined;
      if (udp) bound.push(udp);
      if (this.tcp) bound.push(await this.tcp.start(udp?.port));
      if (this.tls) bound.push(await this.tls.start());
      this.bound = bound;
    } catch (err) {
      await this.close();
      throw err;
    }
    this.options.trace.note({
      node: this.options.node,
      level: 'info',
      text: `listening on ${this.bound.map(describe).join(', ')}`,
      data: { listening: this.bound.map((b) => ({ ...b })) },
    });
  }

  onMessage(handler: (m: ReceivedMessage) => void): void {
    this.handler = handler;
  }

  localAddress(transport: TransportProtocol): TransportAddress {
    const a = this.bound.find((b) => b.transport === transport);
    if (!a) throw new Error(`${this.options.node} does not listen on ${transport.toUpperCase()}`);
    return { ...a };
  }

  /** Whether a TCP/TLS connection is still open (a response can go back over it, §18.2.2). */
  isConnectionOpen(connectionId: string): boolean {
    return !!(this.tcp?.isOpen(connectionId) || this.tls?.isOpen(connectionId));
  }

  send(message: SipMessage, to: TransportAddress, options: SendOptions = {}): Promise<void> {
    if (this.closed || !this.started) {
      return Promise.reject(new TransportError(`transport of ${this.options.node} is not running`, to));
    }
    if (!isLoopback(to.address)) {
      // House rule: imslab only ever talks to its own machine.
      return Promise.reject(new TransportError(`${to.address} is not a loopback address`, to));
    }
    try {
      return isRequest(message) ? this.sendRequest(message, to) : this.sendResponse(message, to, options);
    } catch (err) {
      return Promise.reject(asTransportError(err, to));
    }
  }

  sendSerialized(bytes: Buffer, to: TransportAddress, options: SendOptions = {}): Promise<void> {
    if (this.closed || !this.started) {
      return Promise.reject(new TransportError(`transport of ${this.options.node} is not running`, to));
    }
    if (!isLoopback(to.address)) return Promise.reject(new TransportError(`${to.address} is not a loopback address`, to));
    try {
      return this.sendBytes(this.checkedSize(bytes, to), to, options);
    } catch (err) {
      return Promise.reject(asTransportError(err, to));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.impairment.flush();
    await Promise.all([this.udp?.close(), this.tcp?.close(), this.tls?.close()]);
  }

  // ---- send ----

  private async sendRequest(request: SipRequest, to: TransportAddress): Promise<void> {
    const bytes = this.checkedSize(serializeMessage(request), to);
    if (to.transport === 'udp' && bytes.length > this.limits.maxUdpRequest && this.tcp) {
      // §18.1.1: too big for UDP without fragmentation risk: TCP, with the Via saying so.
      const original = rewriteTopVia(request, 'tcp', this.tcp.local);
      const tcpTo: TransportAddress = { ...to, transport: 'tcp' };
      try {
        await this.tcp.send(serializeMessage(request), tcpTo);
        this.counters.sent.tcp++;
        this.options.trace.note({
          node: this.options.node,
          level: 'info',
          text: `request of ${bytes.length} bytes sent over TCP instead of UDP (larger than ${this.limits.maxUdpRequest})`,
          clause: 'RFC 3261 §18.1.1',
        });
        return;
      } catch (err) {
        // §18.1.1: if the connection cannot be established, retry over UDP.
        if (original !== undefined) restoreTopVia(request, original);
        this.options.trace.note({
          node: this.options.node,
          level: 'info',
          text: `TCP to ${describe(tcpTo)} failed (${(err as Error).message}); request sent over UDP`,
          clause: 'RFC 3261 §18.1.1',
        });
      }
    }
    await this.transportFor(to).send(bytes, to);
    this.counters.sent[to.transport]++;
  }

  private sendResponse(response: SipResponse, to: TransportAddress, options: SendOptions): Promise<void> {
    const bytes = this.checkedSize(serializeMessage(response), to);
    let target = to;
    try {
      target = responseDestination(readTopVia(response)) ?? to;
    } catch {
      // No usable Via: the caller's address is all there is.
    }
    return this.sendBytes(bytes, target, options);
  }

  private async sendBytes(bytes: Buffer, target: TransportAddress, options: SendOptions): Promise<void> {
    // §18.2.2: over the connection the request came on, while it is open.
    if (options.connectionId) {
      const stream = this.streamOf(options.connectionId);
      if (stream?.sendOn(options.connectionId, bytes)) {
        this.counters.sent[stream === this.tcp ? 'tcp' : 'tls']++;
        return;
      }
    }
    await this.transportFor(target).send(bytes, target);
    this.counters.sent[target.transport]++;
  }

  private transportFor(to: TransportAddress): UdpTransport | StreamTransport {
    const t = to.transport === 'udp' ? this.udp : to.transport === 'tcp' ? this.tcp : this.tls;
    if (!t) throw new TransportError(`${this.options.node} has no ${to.transport.toUpperCase()} transport`, to);
    return t;
  }

  private streamOf(connectionId: string): StreamTransport | undefined {
    if (this.tcp?.isOpen(connectionId)) return this.tcp;
    if (this.tls?.isOpen(connectionId)) return this.tls;
    return undefined;
  }

  private checkedSize(bytes: Buffer, to: TransportAddress): Buffer {
    if (bytes.length > this.limits.maxMessageSize) {
      throw new TransportError(`message of ${bytes.length} bytes exceeds the limit of ${this.limits.maxMessageSize}`, to);
    }
    return bytes;
  }

  // ---- receive ----

  /** Everything that arrives: never throws (a socket callback must survive any input). */
  private receive(wire: WireMessage): void {
    let message: SipMessage;
    try {
      message = parseMessage(wire.bytes, { transport: wire.connectionId ? 'stream' : 'datagram' });
    } catch (err) {
      this.malformed(wire, err);
      return;
    }
    this.counters.received[wire.local.transport]++;
    let topVia: Via | undefined;
    if (isRequest(message)) {
      const missing = missingEssential(message);
      if (missing) {
        this.malformed(wire, new SipParseError(`Missing ${missing}`, { kind: 'request', method: message.method, headers: message.headers }));
        return;
      }
      try {
        topVia = stampReceived(message.headers, wire.source);
      } catch (err) {
        this.malformed(wire, err);
        return;
      }
    } else {
      // §18.1.2: a response whose top Via this node did not write is discarded.
      let ok = false;
      let reason = 'response not ours';
      let why = 'missing or unreadable Via';
      try {
        topVia = readTopVia(message);
        ok = isOwnSentBy(topVia, this.sentBy());
        why = 'top Via sent-by is not this node';
      } catch (err) {
        why = (err as Error).message;
      }
      if (ok) {
        const missing = missingEssential(message);
        if (missing) {
          ok = false;
          reason = 'malformed response';
          why = `Missing ${missing}`;
        }
      }
      if (!ok) {
        this.drop(wire, reason, `response ${message.status} dropped: ${why}`, 'RFC 3261 §18.1.2');
        return;
      }
    }
    const received: ReceivedMessage = { message, raw: wire.bytes, source: wire.source, local: wire.local };
    if (wire.connectionId) received.connectionId = wire.connectionId;
    if (topVia) received.topVia = topVia;
    if (this.admission && isRequest(message) && !this.admitted(received, message)) return;
    if (!this.handler) {
      this.drop(wire, 'no consumer', 'no consumer for inbound messages');
      return;
    }
    try {
      this.handler(received);
    } catch (err) {
      this.counters.drop('failed above');
      this.options.trace.note({
        node: this.options.node,
        level: 'error',
        text: `the layer above failed on a message from ${describe(wire.source)}: ${(err as Error).message}`,
      });
    }
  }

  /** Asks the admission policy; a refused request is answered statelessly (503/513) and goes no further. */
  private admitted(received: ReceivedMessage, request: SipRequest): boolean {
    let verdict;
    try {
      verdict = this.admission!.check(received);
    } catch (err) {
      this.options.trace.note({ node: this.options.node, level: 'error', text: `admission check failed, request admitted: ${(err as Error).message}` });
      return true;
    }
    if (verdict.admit) return true;
    this.counters.drop(verdict.kind);
    const { source } = received;
    if (verdict.first) {
      this.options.trace.note({
        node: this.options.node,
        level: 'warn',
        text: `${verdict.kind}: request from ${describe(source)} answered with ${verdict.status}${verdict.retryAfter !== undefined ? ` (Retry-After ${verdict.retryAfter})` : ''}: ${verdict.reason}`,
        clause: verdict.clause,
        data: { source: { ...source }, status: verdict.status, kind: verdict.kind },
      });
    }
    const local = this.bound.find((b) => b.transport === received.local.transport) ?? received.local;
    const response = refusalOf(request, verdict, hostPort(local.address, local.port), this.options.random.token(10));
    const options: SendOptions = received.connectionId ? { connectionId: received.connectionId } : {};
    this.send(response, source, options).catch((e: Error) =>
      this.options.trace.note({ node: this.options.node, level: 'warn', text: `${verdict.status} not sent: ${e.message}` }),
    );
    return false;
  }

  private malformed(wire: WireMessage, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    const partial = err instanceof SipParseError ? err.partial : undefined;
    if (wire.bytes.every((b) => b === 13 || b === 10)) return; // CRLF keep-alive (RFC 5626 §4.4.1)
    const warnAgent = hostPort(wire.local.address, this.bound.find((b) => b.transport === wire.local.transport)?.port ?? wire.local.port);
    const response = badRequest(partial, reason, wire.source, warnAgent, () => this.options.random.token(10));
    if (!response) {
      this.drop(wire, 'malformed', `malformed ${partial?.kind ?? 'message'} dropped: ${reason}`, 'RFC 3261 §8.2.6.1');
      return;
    }
    this.counters.badRequests++;
    this.options.trace.note({
      node: this.options.node,
      level: 'warn',
      text: `malformed request from ${describe(wire.source)} answered with 400: ${reason}`,
      clause: 'RFC 3261 §8.2.6.1, §21.4.1',
    });
    const options: SendOptions = wire.connectionId ? { connectionId: wire.connectionId } : {};
    this.send(response, wire.source, options).catch((e: Error) =>
      this.options.trace.note({ node: this.options.node, level: 'warn', text: `400 not sent: ${e.message}` }),
    );
  }

  private drop(wire: WireMessage, reason: string, text: string, clause?: string): void {
    this.counters.drop(reason);
    this.options.trace.note({
      node: this.options.node,
      level: 'warn',
      text: `${text} (from ${describe(wire.source)})`,
      clause,
      data: { source: { ...wire.source }, length: wire.bytes.length, connectionId: wire.connectionId },
    });
  }

  private sentBy(): SentByIdentity {
    const ports: Partial<Record<TransportProtocol, number>> = {};
    for (const b of this.bound) ports[b.transport] = b.port;
    return { hosts: [this.options.address, ...(this.options.hostNames ?? [])], ports };
  }
}

function asTransportError(err: unknown, to: TransportAddress): TransportError {
  return err instanceof TransportError ? err : new TransportError((err as Error)?.message ?? String(err), to);
}
