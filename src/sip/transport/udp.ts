import dgram from 'node:dgram';
import type { Clock } from '../../util/clock.js';
import type { TraceBus } from '../../trace/events.js';
import { describe, hostPort, ipFamily } from './address.js';
import type { LinkImpairment } from './impairment.js';
import { TransportError, type TransportAddress } from './types.js';
import { tracePacket, type WireMessage } from './wire.js';

export interface UdpTransportOptions {
  node: string;
  address: string;
  /** 0 = ephemeral. */
  port: number;
  trace: TraceBus;
  clock: Clock;
  /** Applied to every datagram sent (loss, delay, jitter, duplication, reordering). */
  impairment?: LinkImpairment;
  /** Datagrams larger than this are dropped on receipt with a note. */
  maxMessageSize: number;
  /**
   * SO_RCVBUF / SO_SNDBUF wanted, in bytes (default 4 MiB each; Linux grants at most net.core.rmem_max and
   * wmem_max). The kernel's 208 KiB default holds about 200 SIP messages: a burst larger than that, while the
   * event loop is busy, is dropped by the kernel, and a dropped provisional is never retransmitted
   * (RFC 3261 §17.2.1), so a load run loses 180s that a bigger buffer only delays.
   */
  socketBufferBytes?: number;
}

const DEFAULT_SOCKET_BUFFER = 4 * 1024 * 1024;

/**
 * Every address handed to send() is an IP literal (checked there), so the name lookup dgram performs before
 * each datagram (dns.lookup, answered on the next tick) is skipped: the datagram leaves in the same turn.
 */
function literalLookup(family: 4 | 6) {
  return (address: string, _options: unknown, callback: (err: Error | null, address: string, family: number) => void): void =>
    callback(null, address, family);
}

/**
 * SIP over UDP (RFC 3261 §18): one socket, bound to the node's own address, both for listening and for
 * sending, so that responses come back to the port in Via sent-by (§18.1.1) and captures show the node's
 * address on every datagram.
 */
export class UdpTransport {
  readonly protocol = 'udp' as const;
  private socket: dgram.Socket | undefined;
  private bound: TransportAddress | undefined;
  private handler: (m: WireMessage) => void = () => {};

  constructor(private readonly options: UdpTransportOptions) {}

  get local(): TransportAddress {
    if (!this.bound) throw new Error(`udp transport of ${this.options.node} is not started`);
    return this.bound;
  }

  onDatagram(handler: (m: WireMessage) => void): void {
    this.handler = handler;
  }

  async start(): Promise<TransportAddress> {
    const { address, port } = this.options;
    const family = ipFamily(address);
    if (family === 0) throw new Error(`udp: listen address must be an IP literal, got "${address}"`);
    const buffer = this.options.socketBufferBytes ?? DEFAULT_SOCKET_BUFFER;
    const socket = dgram.createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      lookup: literalLookup(family) as unknown as dgram.SocketOptions['lookup'],
      recvBufferSize: buffer,
      sendBufferSize: buffer,
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`udp: cannot bind ${hostPort(address, port)}: ${err.message}`, { cause: err }));
      socket.once('error', onError);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    // Socket errors after bind (e.g. ICMP reports on some platforms) must never take the node down.
    socket.on('error', (err) =>
      this.options.trace.note({ node: this.options.node, level: 'warn', text: `udp socket error: ${err.message}` }),
    );
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    this.socket = socket;
    this.bound = { transport: 'udp', address, port: socket.address().port };
    return this.bound;
  }

  /**
   * Sends one datagram. Resolves once it is handed to the link (a lost or delayed datagram resolves too:
   * UDP gives no delivery report); rejects with TransportError when the socket refuses it.
   */
  send(bytes: Buffer, to: TransportAddress): Promise<void> {
    const socket = this.socket;
    const { node, trace, impairment } = this.options;
    if (!socket || !this.bound) return Promise.reject(new TransportError('udp transport is not started', to));
    const local = this.bound;
    if (ipFamily(to.address) !== ipFamily(local.address)) {
      return Promise.reject(
        new TransportError(`udp: cannot reach ${describe(to)} from ${describe(local)} (address family)`, to),
      );
    }
    if (!impairment?.active) return this.write(socket, local, bytes, to);
    impairment.datagram(
      to,
      () => {
        // A delayed copy has no sender waiting any more: write() notes a failure on the trace.
        if (this.socket === socket) this.write(socket, local, bytes, to).catch(() => {});
      },
      () => {
        // Never on the wire, so not a packet event: a note says what the link swallowed.
        trace.note({
          node,
          level: 'info',
          text: `link impairment: datagram to ${describe(to)} lost`,
          data: { impairment: 'loss', to: { address: to.address, port: to.port }, length: bytes.length },
        });
      },
    );
    return Promise.resolve();
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private write(socket: dgram.Socket, local: TransportAddress, bytes: Buffer, to: TransportAddress): Promise<void> {
    // Traced before the write so that the send always precedes the peer's receive in the stream.
    tracePacket(this.options.trace, this.options.node, 'send', local, to, bytes);
    return new Promise<void>((resolve, reject) => {
      try {
        socket.send(bytes, to.port, to.address, (err) => {
          if (err) {
            this.options.trace.note({
              node: this.options.node,
              level: 'warn',
              text: `udp: datagram to ${describe(to)} was not sent: ${err.message}`,
            });
            reject(new TransportError(`udp: cannot send to ${describe(to)}: ${err.message}`, to));
          } else resolve();
        });
      } catch (err) {
        reject(new TransportError(`udp: cannot send to ${describe(to)}: ${(err as Error).message}`, to));
      }
    });
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const local = this.bound;
    if (!local) return;
    const source: TransportAddress = { transport: 'udp', address: rinfo.address, port: rinfo.port };
    tracePacket(this.options.trace, this.options.node, 'recv', local, source, msg);
    if (msg.length > this.options.maxMessageSize) {
      this.options.trace.note({
        node: this.options.node,
        level: 'warn',
        text: `udp: datagram of ${msg.length} bytes from ${describe(source)} exceeds the limit of ${this.options.maxMessageSize}, dropped`,
      });
      return;
    }
    try {
      this.handler({ bytes: msg, source, local });
    } catch (err) {
      // Nothing that a datagram contains may take the node down (house rule); the next one is processed normally.
      this.options.trace.note({
        node: this.options.node,
        level: 'error',
        text: `udp: handling a datagram from ${describe(source)} failed: ${(err as Error).message}`,
      });
    }
  }
}
