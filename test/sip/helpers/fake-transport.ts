import { parseMessage } from '../../../src/sip/parser.js';
import { serializeMessage } from '../../../src/sip/serializer.js';
import { isRequest, type SipMessage, type SipRequest, type SipResponse } from '../../../src/sip/message.js';
import {
  TransportError,
  type ReceivedMessage,
  type SendOptions,
  type SipTransportLayer,
  type TransportAddress,
  type TransportProtocol,
} from '../../../src/sip/transport/types.js';
import type { Clock } from '../../../src/util/clock.js';

export interface SentRecord {
  /** The message as it would be read off the wire (re-parsed from the bytes, so later edits by the sender do not show). */
  message: SipMessage;
  bytes: Buffer;
  to: TransportAddress;
  options?: SendOptions;
  /** Clock time of the send. */
  at: number;
}

/**
 * An in-memory SipTransportLayer for unit tests: records every send as bytes, lets the test inject inbound
 * messages as if they came from a peer, and can be told to refuse sends (§18.4 transport errors).
 */
export class FakeTransport implements SipTransportLayer {
  readonly sent: SentRecord[] = [];
  readonly listening: TransportAddress[];
  /** When set, send() rejects with a TransportError for destinations this returns true for. */
  refuse: ((to: TransportAddress) => boolean) | undefined;
  private handler: ((m: ReceivedMessage) => void) | undefined;

  constructor(
    private readonly clock: Clock,
    readonly address = '127.0.21.1',
    readonly port = 5060,
  ) {
    this.listening = (['udp', 'tcp', 'tls'] as const).map((transport) => ({
      transport,
      address,
      port: transport === 'tls' ? port + 1 : port,
    }));
  }

  send(message: SipMessage, to: TransportAddress, options?: SendOptions): Promise<void> {
    if (this.refuse?.(to)) return Promise.reject(new TransportError(`refused by test`, to));
    const bytes = serializeMessage(message);
    this.sent.push({ message: parseMessage(bytes), bytes, to, options, at: this.clock.now() });
    return Promise.resolve();
  }

  sendSerialized(bytes: Buffer, to: TransportAddress, options?: SendOptions): Promise<void> {
    if (this.refuse?.(to)) return Promise.reject(new TransportError(`refused by test`, to));
    this.sent.push({ message: parseMessage(bytes), bytes, to, options, at: this.clock.now() });
    return Promise.resolve();
  }

  onMessage(handler: (m: ReceivedMessage) => void): void {
    this.handler = handler;
  }

  localAddress(transport: TransportProtocol): TransportAddress {
    return this.listening.find((l) => l.transport === transport)!;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** Delivers a message (text in wire form, or an object) as if it arrived from `source`. */
  deliver(message: string | SipMessage, source: TransportAddress, connectionId?: string): void {
    const raw = typeof message === 'string' ? Buffer.from(message.replace(/\r?\n/g, '\r\n')) : serializeMessage(message);
    const parsed = parseMessage(raw);
    const local = this.localAddress(source.transport);
    this.handler?.({ message: parsed, raw, source, local, ...(connectionId ? { connectionId } : {}) });
  }

  requests(method?: string): Array<SentRecord & { message: SipRequest }> {
    return this.sent.filter((s): s is SentRecord & { message: SipRequest } => isRequest(s.message) && (!method || s.message.method === method));
  }

  responses(status?: number): Array<SentRecord & { message: SipResponse }> {
    return this.sent.filter(
      (s): s is SentRecord & { message: SipResponse } => !isRequest(s.message) && (status === undefined || s.message.status === status),
    );
  }
}

/** Builds wire text from lines, so tests read like the RFC's examples. */
export function wire(...lines: string[]): string {
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Lets promise callbacks (a send's rejection) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
