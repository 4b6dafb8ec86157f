import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { avp, DiameterDecodeError, type Avp } from './avp.js';
import type { ApplicationSupport, LocalIdentity, PeerIdentity } from './capabilities.js';
import { BaseAvpCode } from './dictionary/base.js';
import { CX_APPLICATION_ID, VENDOR_ID_3GPP } from './dictionary/cx.js';
import { defaultDictionary, type Dictionary } from './dictionary/index.js';
import { DEFAULT_MAX_MESSAGE_LENGTH } from './framing.js';
import { CommandFlags, DiameterMessage } from './message.js';
import { DiameterConnection, DisconnectCause, type ConnectionOwner, type RequestOptions } from './peer.js';
import { ResultCode } from './result-codes.js';
import { checkRequest, errorAnswer } from './validation.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Endpoint, TraceBus } from '../trace/events.js';

/** The IANA-registered port for Diameter over TCP (RFC 6733 §2.1). */
export const DIAMETER_PORT = 3868;

export interface DiameterNodeOptions {
  /** Node name on the trace stream (e.g. "hss", "scscf1"). */
  name: string;
  originHost: string;
  originRealm: string;
  /** Address to listen on and to bind outgoing connections to (so captures show the node's own address). */
  address?: string;
  /** Listening port; 0 picks a free one. Default 3868. */
  port?: number;
  /** Host-IP-Address values to advertise; default [address]. */
  hostIpAddresses?: string[];
  clock: Clock;
  random: Random;
  trace: TraceBus;
  /** Default: Cx as Vendor-Specific-Application-Id {10415, 16777216}. */
  applications?: ApplicationSupport[];
  productName?: string;
  vendorId?: number;
  firmwareRevision?: number;
  /** Twinit of RFC 3539 §3.4.1; default 30 s, at least 6 s. */
  watchdogIntervalMs?: number;
  /** How long a request waits for its answer; default 5 s. */
  requestTimeoutMs?: number;
  maxMessageLength?: number;
  /** Decides whether a peer may connect (DIAMETER_UNKNOWN_PEER otherwise); default: everyone. */
  acceptPeer?: (peer: PeerIdentity) => boolean;
  dictionary?: Dictionary;
}

/** What a request handler learns besides the request. */
export interface RequestContext {
  connection: DiameterConnection;
  node: DiameterNode;
  /** Origin-Host and Origin-Realm to put in the answer (the node fills them if left out). */
  originHost: string;
  originRealm: string;
}

export type RequestHandler = (req: DiameterMessage, ctx: RequestContext) => Promise<DiameterMessage> | DiameterMessage;

/**
 * An error a handler may throw to answer with a given Result-Code (and Failed-AVP).
 * Any other exception becomes DIAMETER_UNABLE_TO_COMPLY (RFC 6733 §7.1.5).
 */
export class DiameterAnswerError extends Error {
  constructor(
    readonly resultCode: number,
    message: string,
    readonly failedAvp?: Avp,
  ) {
    super(message);
    this.name = 'DiameterAnswerError';
  }
}

/** Application-Id (32 bits) and Command Code (24 bits) in one key; 56 bits do not fit a double, so a string. */
function key(applicationId: number, commandCode: number): string {
  return `${applicationId}:${commandCode}`;
}

/**
 * A Diameter node (RFC 6733 §2): one identity, a listener, outgoing connections, and request handlers
 * per (application, command). Every message sent or received is one packet event on the TraceBus.
 */
export class DiameterNode implements ConnectionOwner {
  readonly nodeName: string;
  readonly identity: LocalIdentity;
  readonly clock: Clock;
  readonly random: Random;
  readonly trace: TraceBus;
  readonly dictionary: Dictionary;
  readonly watchdogIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly maxMessageLength: number;

  private readonly handlers = new Map<string, RequestHandler>();
  private readonly open = new Map<string, DiameterConnection>();
  private readonly all = new Set<DiameterConnection>();
  private readonly options: DiameterNodeOptions;
  private server: Server | undefined;
  private endToEnd: number;
  private sessionHigh: number;
  private sessionLow = 0;
  private closing = false;

  constructor(options: DiameterNodeOptions) {
    this.options = options;
    this.nodeName = options.name;
    this.clock = options.clock;
    this.random = options.random;
    this.trace = options.trace;
    this.dictionary = options.dictionary ?? defaultDictionary;
    this.watchdogIntervalMs = options.watchdogIntervalMs ?? 30_000;
    if (this.watchdogIntervalMs < 6000) {
      throw new RangeError(`watchdogIntervalMs ${this.watchdogIntervalMs}: RFC 3539 §3.4.1 requires Twinit ≥ 6 s`);
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    const startSeconds = Math.floor(this.clock.now() / 1000);
    this.identity = {
      originHost: options.originHost,
      originRealm: options.originRealm,
      hostIpAddresses: options.hostIpAddresses ?? [options.address ?? '127.0.0.1'],
      vendorId: options.vendorId ?? 0,
      productName: options.productName ?? 'imslab',
      originStateId: startSeconds >>> 0,
      applications: options.applications ?? [{ vendorId: VENDOR_ID_3GPP, authApplicationId: CX_APPLICATION_ID }],
      ...(options.firmwareRevision !== undefined ? { firmwareRevision: options.firmwareRevision } : {}),
    };
    // §3: End-to-End high 12 bits from the low 12 bits of the start time, low 20 bits random.
    this.endToEnd = (((startSeconds & 0xfff) << 20) | this.random.int(0x10_0000)) >>> 0;
    // §8.8: Session-Id "<DiameterIdentity>;<high 32 bits>;<low 32 bits>", high part from boot time.
    this.sessionHigh = startSeconds >>> 0;
  }

  /** Registers the handler for requests of one command (default application: Cx). */
  onRequest(commandCode: number, handler: RequestHandler, applicationId: number = CX_APPLICATION_ID): void {
    this.handlers.set(key(applicationId, commandCode), handler);
  }

  /** Starts listening on address:port; resolves with the bound endpoint. */
  listen(): Promise<Endpoint> {
    if (this.server) return Promise.reject(new Error(`${this.nodeName}: already listening`));
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    const host = this.options.address ?? '127.0.0.1';
    const port = this.options.port ?? DIAMETER_PORT;
    return new Promise<Endpoint>((resolve, reject) => {
      const onError = (e: Error) => {
        this.server = undefined;
        reject(e);
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        server.on('error', (e) => this.trace.note({ node: this.nodeName, level: 'error', text: `listener: ${e.message}` }));
        const a = server.address();
        resolve(typeof a === 'object' && a ? { address: a.address, port: a.port } : { address: host, port });
      });
    });
  }

  get listening(): Endpoint | undefined {
    const a = this.server?.address();
    return typeof a === 'object' && a ? { address: a.address, port: a.port } : undefined;
  }

  /**
   * Opens a connection and performs the capabilities exchange; resolves once it is Open.
   * Binds to `localAddress`, else to the node's own address.
   */
  async connect(host: string, port: number = DIAMETER_PORT, opts: { localAddress?: string } = {}): Promise<DiameterConnection> {
    if (this.closing) throw new Error(`${this.nodeName}: closing`);
    const localAddress = opts.localAddress ?? this.options.address;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host, port, ...(localAddress ? { localAddress } : {}) });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const conn = new DiameterConnection(this, socket, 'initiator');
    this.all.add(conn);
    conn.start();
    await conn.opened;
    return conn;
  }

  /** Sends a request on a connection; see DiameterConnection.request. */
  request(conn: DiameterConnection, msg: DiameterMessage, opts?: RequestOptions): Promise<DiameterMessage> {
    return conn.request(msg, opts);
  }

  /** The open connection to a peer, by its Origin-Host. */
  peer(originHost: string): DiameterConnection | undefined {
    return this.open.get(originHost);
  }

  get connections(): DiameterConnection[] {
    return [...this.all];
  }

  /** A new Session-Id (RFC 6733 §8.8), unique for this node's lifetime and across restarts. */
  newSessionId(optional?: string): string {
    this.sessionLow = (this.sessionLow + 1) >>> 0;
    if (this.sessionLow === 0) this.sessionHigh = (this.sessionHigh + 1) >>> 0;
    return `${this.identity.originHost};${this.sessionHigh};${this.sessionLow}${optional ? `;${optional}` : ''}`;
  }

  /** DPR to every open peer (bounded by the request timeout), then stops listening and drops the rest. */
  async close(cause: number = DisconnectCause.REBOOTING): Promise<void> {
    this.closing = true;
    const server = this.server;
    this.server = undefined;
    const serverClosed = server ? new Promise<void>((res) => server.close(() => res())) : Promise.resolve();
    await Promise.all([...this.all].map((c) => c.disconnect(cause)));
    for (const c of this.all) c.destroy('node closed');
    await serverClosed;
  }

  // ConnectionOwner

  nextEndToEnd(): number {
    this.endToEnd = (this.endToEnd + 1) >>> 0;
    return this.endToEnd;
  }

  acceptPeer(peer: PeerIdentity): boolean {
    return this.options.acceptPeer ? this.options.acceptPeer(peer) : true;
  }

  connectionOpened(conn: DiameterConnection): void {
    if (conn.peer) this.open.set(conn.peer.originHost, conn);
  }

  connectionClosed(conn: DiameterConnection): void {
    this.all.delete(conn);
    if (conn.peer && this.open.get(conn.peer.originHost) === conn) this.open.delete(conn.peer.originHost);
  }

  /**
   * Application requests: RFC 6733 §6.1 local processing. Unsupported application → 3007, unknown
   * command → 3001 (both E bit, §7.1.3); CCF violations → 5001/5005 (§7.1.5); then the handler.
   * Whatever the handler does, an answer goes back.
   */
  async handleRequest(req: DiameterMessage, conn: DiameterConnection): Promise<DiameterMessage> {
    const id = this.identity;
    if (!conn.applications.includes(req.applicationId)) {
      return errorAnswer(req, ResultCode.DIAMETER_APPLICATION_UNSUPPORTED, id, undefined, `application ${req.applicationId} not supported`);
    }
    const handler = this.handlers.get(key(req.applicationId, req.commandCode));
    if (!handler) {
      return errorAnswer(req, ResultCode.DIAMETER_COMMAND_UNSUPPORTED, id, undefined, `command ${req.commandCode} not supported`);
    }
    const def = this.dictionary.command(req.commandCode, req.applicationId);
    if (def) {
      const problem = checkRequest(req, def, this.dictionary);
      if (problem) return errorAnswer(req, problem.resultCode, id, problem.failedAvp, problem.message);
    }
    let ans: DiameterMessage;
    try {
      ans = await handler(req, { connection: conn, node: this, originHost: id.originHost, originRealm: id.originRealm });
    } catch (e) {
      if (e instanceof DiameterAnswerError || e instanceof DiameterDecodeError) {
        return errorAnswer(req, e.resultCode, id, e.failedAvp, e.message);
      }
      this.trace.note({ node: this.nodeName, level: 'error', text: `handler for ${req.commandCode} failed: ${(e as Error).message}` });
      return errorAnswer(req, ResultCode.DIAMETER_UNABLE_TO_COMPLY, id, undefined, 'internal error');
    }
    return this.completeAnswer(ans, req);
  }

  /**
   * Makes a handler's answer a proper answer to `req` (§6.2): identifiers, command, application and P bit
   * from the request, R cleared; Session-Id first; Origin-Host/Realm added when missing.
   */
  private completeAnswer(ans: DiameterMessage, req: DiameterMessage): DiameterMessage {
    ans.commandCode = req.commandCode;
    ans.applicationId = req.applicationId;
    ans.hopByHop = req.hopByHop;
    ans.endToEnd = req.endToEnd;
    ans.flags = (ans.flags & ~CommandFlags.Request & ~CommandFlags.Proxiable) | (req.flags & CommandFlags.Proxiable);
    const avps = ans.avps;
    const hasSession = avps.length > 0 && avps[0]!.code === BaseAvpCode.SessionId && avps[0]!.vendorId === 0;
    let at = hasSession ? 1 : 0;
    if (!hasSession) {
      const sid = req.get(BaseAvpCode.SessionId);
      if (sid) {
        avps.unshift(sid);
        at = 1;
      }
    }
    if (!ans.has(BaseAvpCode.OriginHost)) avps.splice(at++, 0, avp('Origin-Host', this.identity.originHost));
    if (!ans.has(BaseAvpCode.OriginRealm)) avps.splice(at, 0, avp('Origin-Realm', this.identity.originRealm));
    return ans;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn = new DiameterConnection(this, socket, 'acceptor');
    this.all.add(conn);
    // The CER must arrive within the request timeout, or the connection is dropped (§5.6 Wait-CER).
    const t = this.clock.setTimeout(() => {
      if (conn.state === 'Wait-CER') conn.destroy('no CER received');
    }, this.requestTimeoutMs);
    conn.opened.then(
      () => t.cancel(),
      () => t.cancel(),
    );
  }
}
