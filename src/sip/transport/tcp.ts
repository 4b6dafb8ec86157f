import net from 'node:net';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { TraceBus } from '../../trace/events.js';
import { StreamFramer } from '../framing.js';
import { describe, flowKey, hostPort, ipFamily } from './address.js';
import type { LinkImpairment } from './impairment.js';
import { TransportError, type TransportAddress } from './types.js';
import { tracePacket, type SentOn, type WireMessage } from './wire.js';
import { TurnWriter } from '../../util/turn-writer.js';

/**
 * How a stream transport gets its sockets: plain TCP here, TLS in tls.ts. Everything else about a stream
 * (framing by Content-Length, connection reuse, limits, tracing) is the same for both (RFC 3261 §18.3).
 */
export interface StreamSocketFactory {
  readonly protocol: 'tcp' | 'tls';
  /** A server that calls `onSocket` for each accepted connection once it is ready for SIP (after any handshake). */
  createServer(onSocket: (socket: net.Socket) => void, onError: (err: Error) => void): net.Server;
  /** Opens a connection from `localAddress` and resolves once it is ready for SIP. */
  connect(to: TransportAddress, localAddress: string): net.Socket;
  /** The event that says a connect() socket is ready: 'connect' for TCP, 'secureConnect' for TLS. */
  readonly readyEvent: 'connect' | 'secureConnect';
}

export interface StreamTransportOptions {
  node: string;
  address: string;
  /** 0 = ephemeral. */
  port: number;
  trace: TraceBus;
  clock: Clock;
  factory: StreamSocketFactory;
  /** Only delay and jitter apply to a stream: TCP loses, duplicates and reorders nothing. */
  impairment?: LinkImpairment;
  /** Largest framed message accepted; a peer that exceeds it is disconnected. */
  maxMessageSize: number;
  /** Open connections (accepted and initiated) this transport keeps at most. */
  maxConnections: number;
  /** Bytes queued for a peer that does not read before the connection is given up. */
  maxBufferedBytes: number;
  /** How long an outgoing connection may take to establish (ms, on the Clock). */
  connectTimeout: number;
  /** A connection with no traffic for this long is closed (ms, socket inactivity; 0 = never). */
  idleTimeout: number;
}

/** One TCP or TLS connection (RFC 3261 §18.3): framed in, written out, remembered for reuse. */
class StreamConnection {
  readonly framer: StreamFramer;
  /** Time before which the next delayed write may not leave, so impaired writes keep their order. */
  releaseAt = 0;
  closed = false;
  /** What this turn sends on the connection leaves in one write when the turn ends. */
  readonly writer: TurnWriter;

  constructor(
    readonly id: string,
    readonly socket: net.Socket,
    readonly local: TransportAddress,
    readonly remote: TransportAddress,
    readonly inbound: boolean,
    maxMessageSize: number,
  ) {
    this.framer = new StreamFramer({ maxMessageSize });
    this.writer = new TurnWriter(socket);
  }
}

export class StreamTransport {
  readonly protocol: 'tcp' | 'tls';
  private server: net.Server | undefined;
  private bound: TransportAddress | undefined;
  private handler: (m: WireMessage) => void = () => {};
  private readonly byId = new Map<string, StreamConnection>();
  private readonly byPeer = new Map<string, StreamConnection>();
  private readonly connecting = new Map<string, Promise<StreamConnection>>();
  private nextId = 1;
  private stopping = false;

  constructor(private readonly options: StreamTransportOptions) {
    this.protocol = options.factory.protocol;
  }

  get local(): TransportAddress {
    if (!this.bound) throw new Error(`${this.protocol} transport of ${this.options.node} is not started`);
    return this.bound;
  }

  /** Open connections, for tests and metrics. */
  get connectionCount(): number {
    return this.byId.size;
  }

  onMessage(handler: (m: WireMessage) => void): void {
    this.handler = handler;
  }

  isOpen(connectionId: string): boolean {
    const c = this.byId.get(connectionId);
    return !!c && !c.closed;
  }

  /**
   * Listens. With an ephemeral port configured, `preferredPort` is tried first: SIP nodes listen on the same
   * port number for UDP and TCP (5060, RFC 3261 §18.1.1), which lets a request that outgrew UDP reach TCP at
   * the address and port it was sent to.
   */
  async start(preferredPort?: number): Promise<TransportAddress> {
    const { address, port } = this.options;
    if (ipFamily(address) === 0) throw new Error(`${this.protocol}: listen address must be an IP literal, got "${address}"`);
    let server: net.Server | undefined;
    if (port === 0 && preferredPort) server = await this.listen(preferredPort).catch(() => undefined);
    server ??= await this.listen(port);
    server.on('error', (err) => this.note('warn', `${this.protocol} server error: ${err.message}`));
    this.server = server;
    this.bound = { transport: this.protocol, address, port: (server.address() as net.AddressInfo).port };
    return this.bound;
  }

  private async listen(port: number): Promise<net.Server> {
    const { address, factory } = this.options;
    const server = factory.createServer(
      (socket) => this.accept(socket),
      (err) => this.note('warn', `${this.protocol}: ${err.message}`),
    );
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(new Error(`${this.protocol}: cannot listen on ${hostPort(address, port)}: ${err.message}`, { cause: err }));
      server.once('error', onError);
      server.listen({ host: address, port, exclusive: true }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    return server;
  }

  /**
   * Sends one message: over `connectionId` if given and still open (responses, §18.2.2), else over the
   * connection to that peer, opened if there is none (§18.1.1). Rejects with TransportError on failure.
   */
  async send(bytes: Buffer, to: TransportAddress, connectionId?: string): Promise<SentOn> {
    if (!this.bound || this.stopping) throw new TransportError(`${this.protocol} transport is not started`, to);
    let c = connectionId ? this.byId.get(connectionId) : undefined;
    if (!c || c.closed) c = await this.connectionTo(to);
    this.write(c, bytes);
    return { local: c.local, connectionId: c.id };
  }

  /** Sends over an existing connection only; false when it is gone. */
  sendOn(connectionId: string, bytes: Buffer): SentOn | undefined {
    const c = this.byId.get(connectionId);
    if (!c || c.closed) return undefined;
    this.write(c, bytes);
    return { local: c.local, connectionId: c.id };
  }

  async close(): Promise<void> {
    this.stopping = true;
    const server = this.server;
    this.server = undefined;
    for (const c of [...this.byId.values()]) this.drop(c, 'transport closing', 'debug');
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private connectionTo(to: TransportAddress): Promise<StreamConnection> {
    const key = flowKey({ transport: this.protocol, address: to.address, port: to.port });
    const existing = this.byPeer.get(key);
    if (existing && !existing.closed) return Promise.resolve(existing);
    const pending = this.connecting.get(key);
    if (pending) return pending;
    const p = this.open(to).finally(() => this.connecting.delete(key));
    this.connecting.set(key, p);
    return p;
  }

  private open(to: TransportAddress): Promise<StreamConnection> {
    const target: TransportAddress = { transport: this.protocol, address: to.address, port: to.port };
    if (this.byId.size + this.connecting.size >= this.options.maxConnections) {
      return Promise.reject(
        new TransportError(`${this.protocol}: connection limit of ${this.options.maxConnections} reached`, target),
      );
    }
    if (ipFamily(to.address) !== ipFamily(this.options.address)) {
      return Promise.reject(new TransportError(`${this.protocol}: cannot reach ${describe(target)} (address family)`, target));
    }
    return new Promise<StreamConnection>((resolve, reject) => {
      let socket: net.Socket;
      try {
        // Bound to the node's own address so that a capture shows which node opened the connection.
        socket = this.options.factory.connect(target, this.options.address);
      } catch (err) {
        reject(new TransportError(`${this.protocol}: cannot connect to ${describe(target)}: ${(err as Error).message}`, target));
        return;
      }
      let timer: TimerHandle | undefined;
      let failed = false;
      const fail = (reason: string) => {
        if (failed) return;
        failed = true;
        timer?.cancel();
        socket.removeAllListeners(this.options.factory.readyEvent);
        // A late error from a socket given up on must find a listener, or it would take the process down.
        socket.on('error', () => {});
        socket.destroy();
        this.note('warn', `${this.protocol}: connection to ${describe(target)} failed: ${reason}`);
        reject(new TransportError(`${this.protocol}: cannot connect to ${describe(target)}: ${reason}`, target));
      };
      socket.once('error', (err) => fail(err.message));
      timer = this.options.clock.setTimeout(() => fail('timed out'), this.options.connectTimeout);
      socket.once(this.options.factory.readyEvent, () => {
        if (failed) return;
        timer?.cancel();
        socket.removeAllListeners('error');
        if (this.stopping) {
          socket.destroy();
          reject(new TransportError(`${this.protocol} transport is closing`, target));
          return;
        }
        resolve(this.adopt(socket, target, false));
      });
    });
  }

  private accept(socket: net.Socket): void {
    const remote: TransportAddress = {
      transport: this.protocol,
      address: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
    };
    if (this.stopping || this.byId.size + this.connecting.size >= this.options.maxConnections) {
      this.note('warn', `${this.protocol}: connection from ${describe(remote)} refused: limit of ${this.options.maxConnections} connections reached`);
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    this.adopt(socket, remote, true);
  }

  private adopt(socket: net.Socket, remote: TransportAddress, inbound: boolean): StreamConnection {
    const local: TransportAddress = {
      transport: this.protocol,
      address: socket.localAddress ?? this.options.address,
      port: socket.localPort ?? 0,
    };
    const c = new StreamConnection(`${this.protocol}-${this.nextId++}`, socket, local, remote, inbound, this.options.maxMessageSize);
    this.byId.set(c.id, c);
    // Requests to this peer reuse the connection, whichever side opened it (RFC 3261 §18.1.1, §18.2.2).
    const key = flowKey(remote);
    if (!this.byPeer.get(key) || this.byPeer.get(key)!.closed) this.byPeer.set(key, c);
    socket.setNoDelay(true);
    if (this.options.idleTimeout > 0) {
      socket.setTimeout(this.options.idleTimeout, () => this.drop(c, 'idle timeout', 'info'));
    }
    socket.on('data', (chunk: Buffer) => this.receive(c, chunk));
    socket.on('error', (err) => this.drop(c, err.message, 'warn'));
    socket.on('close', () => this.drop(c, 'closed by peer', 'info'));
    socket.on('end', () => socket.end());
    this.options.trace.note({
      node: this.options.node,
      level: 'info',
      text: `${this.protocol}: connection ${c.id} ${inbound ? 'accepted from' : 'opened to'} ${describe(remote)}`,
      data: { connectionId: c.id, local: endpoint(local), remote: endpoint(remote), inbound },
    });
    return c;
  }

  private receive(c: StreamConnection, chunk: Buffer): void {
    if (c.closed) return;
    let results: ReturnType<StreamFramer['push']>;
    try {
      results = c.framer.push(chunk);
    } catch (err) {
      this.drop(c, `framing failed: ${(err as Error).message}`, 'warn');
      return;
    }
    for (const r of results) {
      if (c.closed) return;
      if ('error' in r) {
        // §18.3: a stream that cannot be framed any more cannot be resynchronised; only closing it is safe.
        this.drop(c, `unframeable stream: ${r.error}`, 'warn', 'RFC 3261 §18.3');
        return;
      }
      tracePacket(this.options.trace, this.options.node, 'recv', c.local, c.remote, r.bytes);
      try {
        this.handler({ bytes: r.bytes, source: c.remote, local: c.local, connectionId: c.id });
      } catch (err) {
        this.note('error', `${this.protocol}: handling a message on ${c.id} failed: ${(err as Error).message}`);
      }
    }
  }

  private write(c: StreamConnection, bytes: Buffer): void {
    if (c.socket.writableLength + c.writer.queuedBytes + bytes.length > this.options.maxBufferedBytes) {
      this.drop(c, `peer does not read: more than ${this.options.maxBufferedBytes} bytes queued`, 'warn');
      throw new TransportError(`${this.protocol}: ${c.id} to ${describe(c.remote)} is congested`, c.remote);
    }
    const delay = this.options.impairment?.active ? this.options.impairment.streamDelay(c.remote) : 0;
    if (delay <= 0 && c.releaseAt <= this.options.clock.now()) {
      this.writeNow(c, bytes);
      return;
    }
    // A delayed write never overtakes an earlier one: a stream keeps its order whatever the jitter.
    const at = Math.max(this.options.clock.now() + delay, c.releaseAt);
    c.releaseAt = at;
    this.options.clock.setTimeout(() => this.writeNow(c, bytes), at - this.options.clock.now());
  }

  private writeNow(c: StreamConnection, bytes: Buffer): void {
    if (c.closed) {
      this.note('warn', `${this.protocol}: ${bytes.length} bytes for ${describe(c.remote)} not sent: ${c.id} closed`);
      return;
    }
    tracePacket(this.options.trace, this.options.node, 'send', c.local, c.remote, bytes);
    c.writer.push(bytes);
  }

  private drop(c: StreamConnection, reason: string, level: 'debug' | 'info' | 'warn', clause?: string): void {
    if (c.closed) return;
    c.closed = true;
    this.byId.delete(c.id);
    const key = flowKey(c.remote);
    if (this.byPeer.get(key) === c) this.byPeer.delete(key);
    c.socket.removeAllListeners('data');
    c.socket.on('error', () => {});
    // What this turn already sent (a final response, a BYE before a stop) leaves before the connection goes.
    c.writer.flush();
    c.socket.destroy();
    this.options.trace.note({
      node: this.options.node,
      level,
      text: `${this.protocol}: connection ${c.id} with ${describe(c.remote)} closed: ${reason}`,
      clause,
      data: { connectionId: c.id, local: endpoint(c.local), remote: endpoint(c.remote) },
    });
  }

  private note(level: 'debug' | 'info' | 'warn' | 'error', text: string): void {
    this.options.trace.note({ node: this.options.node, level, text });
  }
}

function endpoint(a: TransportAddress): { address: string; port: number } {
  return { address: a.address, port: a.port };
}

/** Plain TCP sockets. */
export const tcpSockets: StreamSocketFactory = {
  protocol: 'tcp',
  readyEvent: 'connect',
  createServer(onSocket, onError) {
    void onError;
    return net.createServer({ noDelay: true }, onSocket);
  },
  connect(to, localAddress) {
    return net.connect({ host: to.address, port: to.port, localAddress, noDelay: true });
  },
};
