import type { Clock } from '../../util/clock.js';
import { Headers, SipResponse, type SipRequest } from '../message.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { quote } from '../headers/lexical.js';
import type { ReceivedMessage, TransportAddress } from './types.js';

/**
 * Admission of inbound requests at a node's edge (issue 8 point 4): a per-source request rate, and bounds on
 * a request's size and number of header fields. A request over a bound is answered statelessly, before any
 * transaction exists, so a flood costs the node one parse and one small response per message:
 * - over the rate: 503 Service Unavailable with Retry-After (RFC 3261 §21.5.4, §20.33) — the source may come
 *   back; every other source is served as before;
 * - too large or too many header fields: 513 Message Too Large (RFC 3261 §21.5.14).
 * Responses are never limited (they end transactions this node started), nor is ACK (§17.1.1.3: never answered).
 */
export interface InboundLimitSettings {
  /** Requests per second one source (address and transport) may send on average; absent = no rate limit. */
  ratePerSecond?: number;
  /** Requests a source may send at once above the average (the bucket's depth); default 2 × ratePerSecond. */
  burst?: number;
  /** Seconds put in Retry-After of a 503; default: the time until the bucket holds one token again, at least 1. */
  retryAfter?: number;
  /** Largest request accepted, in octets (the transport's own maximum still applies below it). */
  maxMessageBytes?: number;
  /** Most header fields a request may carry. */
  maxHeaders?: number;
  /** Sources that are never rate limited (the node's own network: other CSCFs). */
  exempt?: (source: TransportAddress) => boolean;
  /** Most sources tracked at once; the idlest are forgotten beyond it (a spoofed-address flood cannot grow memory). */
  maxSources?: number;
}

/** Defaults that no legitimate IMS request comes near: a full reginfo NOTIFY is a few kB and 20 fields. */
export const DEFAULT_INBOUND_LIMITS = { maxMessageBytes: 65_535, maxHeaders: 256, maxSources: 10_000 } as const;

export type AdmissionVerdict =
  | { admit: true }
  | {
      admit: false;
      status: 503 | 513;
      kind: 'rate limited' | 'too large' | 'too many headers';
      reason: string;
      clause: string;
      retryAfter?: number;
      /** True for the first refusal of a source after it was last admitted: the moment worth a note. */
      first: boolean;
    };

/** What a transport layer asks before it hands a request up. */
export interface Admission {
  check(received: ReceivedMessage): AdmissionVerdict;
}

/** A token bucket (capacity `burst`, refilled at `rate` per second) per source, on the node's Clock. */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; refused: number }>();

  constructor(
    private readonly clock: Clock,
    readonly rate: number,
    readonly burst: number,
    private readonly maxSources: number = DEFAULT_INBOUND_LIMITS.maxSources,
  ) {
    if (!(rate > 0 && Number.isFinite(rate))) throw new RangeError(`rate limit: ratePerSecond must be a positive number, got ${rate}`);
    if (!(burst >= 1 && Number.isFinite(burst))) throw new RangeError(`rate limit: burst must be at least 1, got ${burst}`);
  }

  /** Takes one token for `key`: ok, or how long until one is there again (ms) and how many were refused so far. */
  take(key: string): { ok: true; refusedBefore: number } | { ok: false; waitMs: number; refused: number } {
    const now = this.clock.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
      b.at = now;
      // Most recently used last: the Map's order is then the eviction order.
      this.buckets.delete(key);
    } else {
      b = { tokens: this.burst, at: now, refused: 0 };
      if (this.buckets.size >= this.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      const refusedBefore = b.refused;
      b.refused = 0;
      return { ok: true, refusedBefore };
    }
    b.refused++;
    return { ok: false, waitMs: ((1 - b.tokens) / this.rate) * 1000, refused: b.refused };
  }

  get tracked(): number {
    return this.buckets.size;
  }
}

/** The admission policy of one node: the checks of InboundLimitSettings, cheapest first. */
export class InboundLimits implements Admission {
  private readonly limiter: SourceRateLimiter | undefined;
  private readonly maxMessageBytes: number;
  private readonly maxHeaders: number;
  /** Requests refused per source key (`udp:127.0.0.9:5060` style), for the health view (issue 8 point 5). */
  readonly refusedBySource = new Map<string, number>();

  constructor(
    clock: Clock,
    private readonly settings: InboundLimitSettings = {},
  ) {
    this.maxMessageBytes = settings.maxMessageBytes ?? DEFAULT_INBOUND_LIMITS.maxMessageBytes;
    this.maxHeaders = settings.maxHeaders ?? DEFAULT_INBOUND_LIMITS.maxHeaders;
    if (settings.ratePerSecond !== undefined) {
      this.limiter = new SourceRateLimiter(clock, settings.ratePerSecond, settings.burst ?? Math.max(1, 2 * settings.ratePerSecond), settings.maxSources);
    }
  }

  check(received: ReceivedMessage): AdmissionVerdict {
    const m = received.message;
    if (!('method' in m) || m.method === 'ACK') return { admit: true };
    const key = sourceKey(received.source);
    if (received.raw.length > this.maxMessageBytes) {
      return this.refused(key, { status: 513, kind: 'too large', reason: `request of ${received.raw.length} octets exceeds the limit of ${this.maxMessageBytes}`, clause: 'RFC 3261 §21.5.14', first: true });
    }
    if (m.headers.size > this.maxHeaders) {
      return this.refused(key, { status: 513, kind: 'too many headers', reason: `request with ${m.headers.size} header fields exceeds the limit of ${this.maxHeaders}`, clause: 'RFC 3261 §21.5.14', first: true });
    }
    if (this.limiter && !this.settings.exempt?.(received.source)) {
      const t = this.limiter.take(key);
      if (!t.ok) {
        const retryAfter = this.settings.retryAfter ?? Math.max(1, Math.ceil(t.waitMs / 1000));
        return this.refused(key, {
          status: 503,
          kind: 'rate limited',
          reason: `this source sends more than ${this.limiter.rate} requests/s (burst ${this.limiter.burst})`,
          clause: 'RFC 3261 §21.5.4',
          retryAfter,
          first: t.refused === 1,
        });
      }
    }
    return { admit: true };
  }

  private refused(key: string, v: Omit<Extract<AdmissionVerdict, { admit: false }>, 'admit'>): AdmissionVerdict {
    if (!this.refusedBySource.has(key) && this.refusedBySource.size >= (this.settings.maxSources ?? DEFAULT_INBOUND_LIMITS.maxSources)) {
      this.refusedBySource.delete(this.refusedBySource.keys().next().value!);
    }
    this.refusedBySource.set(key, (this.refusedBySource.get(key) ?? 0) + 1);
    return { admit: false, ...v };
  }
}

export function sourceKey(s: TransportAddress): string {
  return `${s.transport}:${s.address}:${s.port}`;
}

/**
 * The stateless answer to a refused request (RFC 3261 §8.2.6.2 / §16.2 for a proxy): the request's Via, From,
 * Call-ID and CSeq, the To with a tag, a Warning 399 naming why (§20.43), and Retry-After for a 503 (§20.33).
 */
export function refusalOf(request: SipRequest, verdict: Extract<AdmissionVerdict, { admit: false }>, warnAgent: string, toTag: string): SipResponse {
  const h = new Headers();
  for (const v of request.headers.getAll('Via')) h.append('Via', v);
  h.append('From', request.headers.get('From')!);
  let to = request.headers.get('To')!;
  try {
    if (parseNameAddr(to).tag === undefined) to += `;tag=${toTag}`;
  } catch {
    // An unreadable To is echoed as it came: the client matches on Via and CSeq (§17.1.3).
  }
  h.append('To', to);
  h.append('Call-ID', request.headers.get('Call-ID')!);
  h.append('CSeq', request.headers.get('CSeq')!);
  if (verdict.retryAfter !== undefined) h.append('Retry-After', String(verdict.retryAfter));
  h.append('Warning', `399 ${warnAgent} ${quote(verdict.reason)}`);
  h.append('Content-Length', '0');
  return new SipResponse(verdict.status, verdict.status === 503 ? 'Service Unavailable' : 'Message Too Large', h);
}
