import type { TransportProtocol } from './types.js';

/**
 * What a node's transport layer has carried and refused, for the health view (issue 8 point 5): messages
 * in and out per transport, and every inbound message dropped, by reason. Plain numbers, only incremented.
 */
export class TransportCounters {
  readonly received: Record<TransportProtocol, number> = { udp: 0, tcp: 0, tls: 0 };
  readonly sent: Record<TransportProtocol, number> = { udp: 0, tcp: 0, tls: 0 };
  /** Malformed requests answered with 400 (RFC 3261 §8.2.6.1, §21.4.1). */
  badRequests = 0;
  /** Inbound messages dropped, by reason (malformed response, response not ours §18.1.2, no consumer …). */
  readonly dropped = new Map<string, number>();

  drop(reason: string): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  snapshot(): { received: Record<TransportProtocol, number>; sent: Record<TransportProtocol, number>; badRequests: number; dropped: Record<string, number> } {
    return { received: { ...this.received }, sent: { ...this.sent }, badRequests: this.badRequests, dropped: Object.fromEntries(this.dropped) };
  }
}
