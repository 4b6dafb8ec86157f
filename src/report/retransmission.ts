/**
 * Judges the UE's retransmissions of its own requests against the client transaction timers of RFC 3261:
 * Timer A for INVITE (§17.1.1.2: T1, 2·T1, 4·T1 … no cap, stops on a provisional) and Timer E for the others
 * (§17.1.2.2: T1 doubling up to T2, then every T2 once a provisional arrived), only over unreliable transports
 * (over TCP and TLS the transport retransmits, never the transaction), and never past Timer B/F (64·T1).
 *
 * Bounded: a fixed number of transactions per UE is remembered, the oldest forgotten first.
 */
import type { SipMessage } from '../sip/message.js';
import { callId } from '../sip/headers/call-id.js';
import { cseqOf } from '../sip/headers/cseq.js';
import { MAGIC_COOKIE, topVia } from '../sip/headers/via.js';
import type { TransportProtocol } from '../trace/events.js';
import type { RetransmissionFacts } from './model.js';

interface ClientTransaction {
  method: string;
  transport: TransportProtocol;
  firstLine: string;
  first: number;
  last: number;
  retransmissions: number;
  provisionalAt?: number;
  finalAt?: number;
}

/** Interval tolerance: event loops run late more than early; loopback adds nothing measurable. */
const EARLY = 0.75;
const LATE = 1.5;
const SLACK_MS = 40;
const MAX_TRANSACTIONS = 64;
const MAX_SAMPLES = 8;
const MAX_VIOLATIONS = 5;

/** The transaction key of RFC 3261 §17.1.3 for a request: top Via branch and method (Call-ID/CSeq if no branch). */
export function requestKey(m: SipMessage): string | undefined {
  try {
    const cseq = cseqOf(m);
    const branch = topVia(m).branch;
    // A request's method and its response's CSeq method name the same transaction (§17.1.3).
    if (branch !== undefined && branch.startsWith(MAGIC_COOKIE)) return `${branch}|${cseq.method}`;
    return `${callId(m)}|${cseq.seq}|${cseq.method}`;
  } catch {
    return undefined;
  }
}

export class RetransmissionJudge {
  private readonly open = new Map<string, ClientTransaction>();
  readonly facts: RetransmissionFacts = { transactions: 0, retransmissions: 0, sampleIntervals: [], violations: [], violationCount: 0 };

  constructor(
    private readonly t1: number,
    private readonly t2: number,
  ) {}

  /**
   * A request from the UE. Returns true when it retransmits one already seen (the caller then keeps it out of
   * the message log, so rules count each request once).
   */
  request(m: SipMessage & { kind: 'request' }, transport: TransportProtocol, time: number, firstLine: string): boolean {
    if (m.method === 'ACK') return false;
    const key = requestKey(m);
    if (key === undefined) return false;
    const t = this.open.get(key);
    if (!t) {
      if (this.open.size >= MAX_TRANSACTIONS) this.open.delete(this.open.keys().next().value!);
      this.open.set(key, { method: m.method, transport, firstLine, first: time, last: time, retransmissions: 0 });
      return false;
    }
    this.judge(t, time);
    t.last = time;
    return true;
  }

  /** A response the P-CSCF sent to the UE: moves the UE's client transaction to Proceeding or Completed. */
  response(m: SipMessage & { kind: 'response' }, time: number): void {
    const key = requestKey(m);
    const t = key === undefined ? undefined : this.open.get(key);
    if (!t) return;
    if (m.status < 200) t.provisionalAt ??= time;
    else t.finalAt ??= time;
  }

  private judge(t: ClientTransaction, time: number): void {
    const f = this.facts;
    const interval = time - t.last;
    if (t.retransmissions === 0) f.transactions++;
    t.retransmissions++;
    f.retransmissions++;
    if (f.sampleIntervals.length < MAX_SAMPLES) f.sampleIntervals.push(interval);
    const at = `${t.firstLine} retransmission ${t.retransmissions} after ${interval} ms`;
    const invite = t.method === 'INVITE';
    const timer = invite ? 'Timer A (§17.1.1.2)' : 'Timer E (§17.1.2.2)';
    if (t.transport !== 'udp') return this.violation(`${at}: retransmitted over ${t.transport.toUpperCase()}, where ${timer} is not set`);
    if (t.finalAt !== undefined && t.finalAt < time) {
      return this.violation(`${at}: sent again after the final response reached it (the transaction was Completed)`);
    }
    if (time - t.first > 64 * this.t1) return this.violation(`${at}: ${time - t.first} ms after the first send, beyond Timer ${invite ? 'B' : 'F'} (64·T1 = ${64 * this.t1} ms)`);
    if (invite && t.provisionalAt !== undefined && t.provisionalAt < time) {
      return this.violation(`${at}: sent again after a provisional response (Proceeding stops Timer A, §17.1.1.2)`);
    }
    const doubling = this.t1 * 2 ** (t.retransmissions - 1);
    // Timer E already running when the provisional came fires at its old value; only then is it reset to T2.
    const proceeding = !invite && t.provisionalAt !== undefined && t.provisionalAt <= t.last;
    const expected = invite ? doubling : proceeding ? this.t2 : Math.min(doubling, this.t2);
    if (interval < expected * EARLY - SLACK_MS || interval > expected * LATE + SLACK_MS) {
      this.violation(`${at}; ${timer} expects ≈${expected} ms (T1 ${this.t1} ms, T2 ${this.t2} ms)`);
    }
  }

  private violation(text: string): void {
    this.facts.violationCount++;
    if (this.facts.violations.length < MAX_VIOLATIONS) this.facts.violations.push(text);
  }

  /** Folds another UE's facts in (the same UE seen on another endpoint). */
  absorb(other: RetransmissionJudge): void {
    const f = this.facts;
    const o = other.facts;
    f.transactions += o.transactions;
    f.retransmissions += o.retransmissions;
    f.violationCount += o.violationCount;
    for (const x of o.sampleIntervals) if (f.sampleIntervals.length < MAX_SAMPLES) f.sampleIntervals.push(x);
    for (const x of o.violations) if (f.violations.length < MAX_VIOLATIONS) f.violations.push(x);
    for (const [k, t] of other.open) if (!this.open.has(k) && this.open.size < MAX_TRANSACTIONS) this.open.set(k, t);
  }
}
