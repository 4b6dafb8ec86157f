import { Subject, type Observable } from 'rxjs';
import type { Clock } from '../util/clock.js';

/**
 * The one record of traffic (ARCHITECTURE: "every send and receive is one event on the trace stream").
 * Ladders, pcap files, JSON traces, metrics and conformance reports are subscribers; nothing else keeps
 * its own log of messages.
 */
export type PacketProtocol = 'sip' | 'diameter' | 'rtp' | 'rtcp';
export type TransportProtocol = 'udp' | 'tcp' | 'tls';

export interface Endpoint {
  address: string;
  port: number;
}

export interface PacketEvent {
  type: 'packet';
  /** Position in the stream, from 1. */
  seq: number;
  /** Milliseconds since the epoch, from the run's clock. */
  time: number;
  /** Name of the node (or UE) whose transport sent or received the bytes. */
  node: string;
  direction: 'send' | 'recv';
  protocol: PacketProtocol;
  transport: TransportProtocol;
  local: Endpoint;
  remote: Endpoint;
  /** The bytes exactly as written to or read from the socket (for TCP/TLS: one whole framed message). */
  bytes: Buffer;
}

export interface NoteEvent {
  type: 'note';
  seq: number;
  time: number;
  node: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  /** Plain words for a person, e.g. "sec-agree: IPsec SAs are simulated, not installed in the kernel". */
  text: string;
  /** The spec clause the behaviour comes from, e.g. "TS 33.203 §7.1". */
  clause?: string;
  /** Machine-readable detail (counters, SA parameters, RTP statistics …). */
  data?: Record<string, unknown>;
}

export type TraceEvent = PacketEvent | NoteEvent;

export type PacketInput = Omit<PacketEvent, 'type' | 'seq' | 'time'>;
export type NoteInput = Omit<NoteEvent, 'type' | 'seq' | 'time'>;

export class TraceBus {
  private readonly subject = new Subject<TraceEvent>();
  private seq = 0;
  readonly events$: Observable<TraceEvent> = this.subject.asObservable();

  constructor(private readonly clock: Clock) {}

  /**
   * Whether anyone listens. A sender on a hot path (every datagram of a node nobody traces) may skip building its
   * event when nobody does and call `unobserved()` instead, which numbers it as `packet()` would.
   */
  get observed(): boolean {
    return this.subject.observed;
  }

  /** An event nobody listens to still takes its sequence number, so numbers do not depend on who listened when. */
  unobserved(): void {
    this.seq++;
  }

  packet(p: PacketInput): void {
    if (!this.subject.observed) {
      this.seq++;
      return;
    }
    this.subject.next({ type: 'packet', seq: ++this.seq, time: this.clock.now(), ...p });
  }

  note(n: NoteInput): void {
    if (!this.subject.observed) {
      this.seq++;
      return;
    }
    this.subject.next({ type: 'note', seq: ++this.seq, time: this.clock.now(), ...n });
  }

  complete(): void {
    this.subject.complete();
  }
}
