import type { Via } from '../headers/via.js';
import type { SipMessage } from '../message.js';
import type { TransportProtocol } from '../../trace/events.js';

export type { TransportProtocol };

/** Where a message goes to or comes from: the transport protocol, an IP address (v4 or v6) and a port. */
export interface TransportAddress {
  transport: TransportProtocol;
  address: string;
  port: number;
}

/** A message as the transport layer hands it up (RFC 3261 §18.2.1 / §18.1.2 processing already done). */
export interface ReceivedMessage {
  message: SipMessage;
  /** The framed bytes as received. */
  raw: Buffer;
  /** The peer: address, port and transport the message came from. */
  source: TransportAddress;
  /** The local socket it arrived on. */
  local: TransportAddress;
  /** For TCP/TLS: the connection it came in on, so that responses go back over it (§18.2.2). */
  connectionId?: string;
  /**
   * The top Via as the transport read it — for a request after §18.2.1 stamped `received`/`rport` into it — so
   * that the transaction layer does not parse the same line again. Read-only; absent when nobody parsed it.
   */
  topVia?: Via;
}

export interface SendOptions {
  /** Send over this existing connection if it is still open (responses to requests that came over TCP/TLS). */
  connectionId?: string;
}

/**
 * The transport layer of one node (RFC 3261 §18): every socket the node listens on, behind one interface.
 * The layers above never touch sockets.
 */
export interface SipTransportLayer {
  /** The addresses this node listens on, one per transport. */
  readonly listening: readonly TransportAddress[];
  /** Serialises and sends; rejects with TransportError when the message cannot be delivered (§18.4 → 503 above). */
  send(message: SipMessage, to: TransportAddress, options?: SendOptions): Promise<void>;
  /**
   * Sends a message already serialised, to `to` or over the connection `options` names: a final response a
   * server transaction keeps in wire form for its retransmissions (RFC 3261 §17.2.2), not as objects.
   */
  sendSerialized(bytes: Buffer, to: TransportAddress, options?: SendOptions): Promise<void>;
  /** Registers the one consumer of inbound messages (the transaction layer). */
  onMessage(handler: (m: ReceivedMessage) => void): void;
  /** The address put in Via sent-by and Record-Route for a transport. */
  localAddress(transport: TransportProtocol): TransportAddress;
  close(): Promise<void>;
}

export class TransportError extends Error {
  constructor(
    message: string,
    readonly destination: TransportAddress,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
