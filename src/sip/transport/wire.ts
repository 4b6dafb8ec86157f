import type { TraceBus } from '../../trace/events.js';
import type { TransportAddress } from './types.js';

/**
 * What a protocol transport (UDP, TCP, TLS) hands to the transport layer: one datagram, or one message
 * framed out of a stream (RFC 3261 §18.3), with where it came from. Parsing happens above, in one place.
 */
export interface WireMessage {
  bytes: Buffer;
  source: TransportAddress;
  local: TransportAddress;
  /** Set for TCP/TLS: the connection the message arrived on. */
  connectionId?: string;
}

/** Where a message left from, so that the layer above can tell which connection a request went out on. */
export interface SentOn {
  local: TransportAddress;
  connectionId?: string;
}

/** Reports bytes that crossed a socket: exactly one event per datagram or framed message and direction. */
export function tracePacket(
  trace: TraceBus,
  node: string,
  direction: 'send' | 'recv',
  local: TransportAddress,
  remote: TransportAddress,
  bytes: Buffer,
): void {
  if (!trace.observed) return trace.unobserved();
  trace.packet({
    node,
    direction,
    protocol: 'sip',
    transport: local.transport,
    local: { address: local.address, port: local.port },
    remote: { address: remote.address, port: remote.port },
    bytes,
  });
}
