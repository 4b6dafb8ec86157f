/**
 * The TS 24.229 §5.1 conformance report on outside UEs: a subscriber of the trace stream that keeps, per UE
 * that talked to the P-CSCF from outside the topology (SIPp, baresip, a handset), what the requirements need,
 * and judges it on demand.
 *
 * An outside UE is the remote endpoint of a SIP packet the P-CSCF received whose address is not a node or
 * simulated UE of the topology. UEs are first told apart by transport, address and port, then merged once a
 * REGISTER names the same IMPI (or IMPU) — a TCP client reconnecting, or a UE moving to its protected ports
 * after sec-agree (TS 33.203 §7.1), is one UE. Memory is bounded: a cap of UEs, and per UE a bounded log.
 */
import type { Observable, Subscription } from 'rxjs';
import { parseMessage } from '../sip/parser.js';
import type { SipMessage } from '../sip/message.js';
import { parseCredentials } from '../sip/headers/auth.js';
import { parseNameAddr } from '../sip/headers/name-addr.js';
import { ipsecParams, parseSecurityMechanisms } from '../sip/headers/security.js';
import type { Endpoint, NoteEvent, PacketEvent, TraceEvent, TransportProtocol } from '../trace/events.js';
import { RequirementContext } from './context.js';
import type { Observed, ReportJson, Requirement, RequirementJson, ResolvedReportOptions, SubscriberLookup, UeJson } from './model.js';
import { REQUIREMENTS } from './requirements/index.js';
import { RetransmissionJudge } from './retransmission.js';
import { DEFAULT_LOG_LIMITS, UeLog, type UeLogLimits } from './ue-log.js';

export interface ConformanceReportOptions {
  /** Addresses of the topology's nodes and simulated UEs: "127.0.1.1", "127.0.1.1:5060" or "[::1]:5060". */
  knownAddresses: string[];
  /** The P-CSCF's addresses (same forms): the node facing UEs, whose packets the report reads. */
  pcscfAddresses: string[];
  /** Subscriber record by IMPI, for the AKA doctor's diagnosis of a rejected response. */
  subscriberOf?: SubscriberLookup;
  /** RFC 3261 §17.1.1.1 timers the UE is judged by, ms (500 and 4000 by default). */
  t1?: number;
  t2?: number;
  /** TS 24.229 Table 7.7.1 reg-await-auth, ms (4 min by default). */
  challengeLifetimeMs?: number;
  /** Time after a registration before a missing reg-event SUBSCRIBE counts, ms (5 s by default). */
  graceMs?: number;
  /** UEs tracked at most; later ones are counted only (256 by default). */
  maxUes?: number;
  /** Messages kept per UE (head, tail, REGISTER exchanges). */
  logLimits?: Partial<UeLogLimits>;
  /** The rules to judge by (all of TS 24.229 §5.1 that imslab checks, by default). */
  requirements?: readonly Requirement[];
}

/** TS 24.229 Table 7.7.1: reg-await-auth is 4 minutes. */
const REG_AWAIT_AUTH_MS = 4 * 60_000;
const MAX_NOTE_IMPIS = 1024;
const MAX_NOTES_PER_IMPI = 4;

interface UeState {
  id: number;
  endpoints: string[];
  first: Endpoint;
  transport: TransportProtocol;
  log: UeLog;
  judge: RetransmissionJudge;
  impi?: string;
  impu?: string;
  userAgent?: string;
  firstSeen: number;
  lastSeen: number;
  unparsable: number;
}

interface AddressSet {
  addresses: Set<string>;
  endpoints: Set<string>;
}

const endpointKey = (address: string, port: number) => `${address.toLowerCase()}|${port}`;

/** "a.b.c.d", "a.b.c.d:port", "[v6]:port", "[v6]" or a bare IPv6 address. */
function addressSet(list: string[]): AddressSet {
  const set: AddressSet = { addresses: new Set(), endpoints: new Set() };
  for (const raw of list) {
    const s = raw.trim();
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
    if (v6) {
      if (v6[2]) set.endpoints.add(endpointKey(v6[1]!, Number(v6[2])));
      else set.addresses.add(v6[1]!.toLowerCase());
      continue;
    }
    const colon = s.lastIndexOf(':');
    if (colon > 0 && s.indexOf(':') === colon && /^\d+$/.test(s.slice(colon + 1))) {
      set.endpoints.add(endpointKey(s.slice(0, colon), Number(s.slice(colon + 1))));
    } else set.addresses.add(s.toLowerCase());
  }
  return set;
}

const inSet = (set: AddressSet, e: Endpoint) => set.addresses.has(e.address.toLowerCase()) || set.endpoints.has(endpointKey(e.address, e.port));

function firstLineOf(m: SipMessage): string {
  return m.kind === 'request' ? `${m.method} ${m.uri} ${m.version}` : `${m.version} ${m.status} ${m.reason}`;
}

/** Only CR/LF: a keep-alive (RFC 5626 §3.5.1), not a message. */
function isKeepAlive(b: Buffer): boolean {
  for (const c of b) if (c !== 13 && c !== 10) return false;
  return true;
}

const EMPTY = Buffer.alloc(0);

export class ConformanceReport {
  private readonly known: AddressSet;
  private readonly pcscf: AddressSet;
  private readonly options: ResolvedReportOptions;
  private readonly limits: UeLogLimits;
  private readonly maxUes: number;
  private readonly requirements: readonly Requirement[];
  private readonly byEndpoint = new Map<string, UeState>();
  private readonly byImpi = new Map<string, UeState>();
  private readonly byImpu = new Map<string, UeState>();
  private readonly ues: UeState[] = [];
  private readonly notesByImpi = new Map<string, string[]>();
  private untracked = new Set<string>();
  private nextId = 1;
  private lastTime = 0;

  constructor(opts: ConformanceReportOptions) {
    this.known = addressSet(opts.knownAddresses);
    this.pcscf = addressSet(opts.pcscfAddresses);
    this.options = {
      t1: opts.t1 ?? 500,
      t2: opts.t2 ?? 4000,
      challengeLifetimeMs: opts.challengeLifetimeMs ?? REG_AWAIT_AUTH_MS,
      graceMs: opts.graceMs ?? 5000,
      subscriberOf: opts.subscriberOf,
    };
    this.limits = { ...DEFAULT_LOG_LIMITS, ...opts.logLimits };
    this.maxUes = opts.maxUes ?? 256;
    this.requirements = opts.requirements ?? REQUIREMENTS;
  }

  /** Feeds one trace event. Never throws: hostile bytes are counted against their UE, nothing else. */
  ingest(event: TraceEvent): void {
    if (event.time > this.lastTime) this.lastTime = event.time;
    try {
      if (event.type === 'note') this.note(event);
      else if (event.protocol === 'sip') this.packet(event);
    } catch {
      // A rule of the report must never take a node down; the event is simply not counted.
    }
  }

  /** Subscribes to a trace stream; unsubscribe (or complete the bus) to stop. */
  attach(events$: Observable<TraceEvent>): Subscription {
    return events$.subscribe({ next: (e) => this.ingest(e) });
  }

  /** Judges every UE seen so far, as of `now` (the latest event time by default). */
  result(now: number = this.lastTime): ReportJson {
    const ues = [...this.ues].sort((a, b) => a.firstSeen - b.firstSeen || a.id - b.id).map((u) => this.judgeUe(u, now));
    const sum = (k: keyof UeJson['summary']) => ues.reduce((n, u) => n + u.summary[k], 0);
    return {
      kind: 'imslab-conformance-report',
      version: 1,
      standard: 'TS 24.229 §5.1',
      generatedAt: now,
      ues,
      summary: { ues: ues.length, met: sum('met'), notMet: sum('notMet'), notApplicable: sum('notApplicable'), untracked: this.untracked.size },
    };
  }

  private note(e: NoteEvent): void {
    const impi = e.data?.['impi'];
    if (typeof impi !== 'string' || (e.level !== 'warn' && e.level !== 'error')) return;
    let list = this.notesByImpi.get(impi);
    if (!list) {
      if (this.notesByImpi.size >= MAX_NOTE_IMPIS) return;
      this.notesByImpi.set(impi, (list = []));
    }
    if (list.length < MAX_NOTES_PER_IMPI) list.push(`${e.node}: ${e.text}`);
  }

  private packet(e: PacketEvent): void {
    if (!inSet(this.pcscf, e.local) || inSet(this.known, e.remote)) return;
    const key = `${e.transport}|${endpointKey(e.remote.address, e.remote.port)}`;
    let ue = this.byEndpoint.get(key);
    const fromUe = e.direction === 'recv';
    if (!ue) {
      // Only what the P-CSCF received makes a UE; a send to an endpoint never heard from is the core's business.
      if (!fromUe) return;
      if (this.ues.length >= this.maxUes) {
        if (this.untracked.size < 65_536) this.untracked.add(key);
        return;
      }
      ue = {
        id: this.nextId++,
        endpoints: [key],
        first: { ...e.remote },
        transport: e.transport,
        log: new UeLog(this.limits),
        judge: new RetransmissionJudge(this.options.t1, this.options.t2),
        firstSeen: e.time,
        lastSeen: e.time,
        unparsable: 0,
      };
      this.ues.push(ue);
      this.byEndpoint.set(key, ue);
    }
    ue.lastSeen = e.time;
    if (isKeepAlive(e.bytes)) return;
    let message: SipMessage;
    try {
      message = parseMessage(e.bytes, { transport: e.transport === 'udp' ? 'datagram' : 'stream' });
    } catch {
      ue.unparsable++;
      return;
    }
    const bodyLength = message.body.length;
    // The body is not judged; dropping it keeps the trace's buffers collectable.
    message.body = EMPTY;
    const o: Observed = {
      seq: e.seq,
      time: e.time,
      direction: fromUe ? 'from-ue' : 'to-ue',
      transport: e.transport,
      ue: { ...e.remote },
      pcscf: { ...e.local },
      message,
      bodyLength,
      firstLine: firstLineOf(message),
    };
    if (message.kind === 'request') {
      if (fromUe && ue.judge.request(message, e.transport, e.time, o.firstLine)) return;
    } else if (!fromUe) ue.judge.response(message, e.time);
    ue.log.add(o);
    if (fromUe && message.kind === 'request') {
      ue.userAgent ??= message.headers.get('User-Agent');
      ue = this.learn(ue, message, e);
    }
  }

  /** Identity and protected ports from the UE's requests; may merge this UE into one seen before. */
  private learn(ue: UeState, m: SipMessage & { kind: 'request' }, e: PacketEvent): UeState {
    if (m.method === 'REGISTER') {
      const to = m.headers.get('To');
      if (to !== undefined && !ue.impu) {
        try {
          ue.impu = parseNameAddr(to).uri;
        } catch {
          // An unreadable To names nobody; the rules report it.
        }
      }
      const auth = m.headers.get('Authorization');
      if (auth !== undefined && !ue.impi) {
        try {
          const u = parseCredentials(auth).username;
          if (u) ue.impi = u;
        } catch {
          // Judged by initial-register-authorization.
        }
      }
      // TS 33.203 §7.1: after sec-agree the UE sends from port-c and receives on port-s of the same address.
      try {
        for (const mech of parseSecurityMechanisms(m.headers.getAll('Security-Client'))) {
          if (mech.mechanism.toLowerCase() !== 'ipsec-3gpp') continue;
          const p = ipsecParams(mech);
          for (const port of [p.portC, p.portS]) {
            if (port === undefined) continue;
            for (const t of ['udp', 'tcp'] as const) ue = this.alias(`${t}|${endpointKey(e.remote.address, port)}`, ue);
          }
        }
      } catch {
        // Judged by sec-agree.
      }
    } else if (!ue.impi && !ue.impu) {
      // A request from a fresh port of a known address, in the name of a UE seen before (e.g. a new TCP connection).
      const from = m.headers.get('From');
      try {
        const other = from === undefined ? undefined : this.byImpu.get(parseNameAddr(from).uri.toLowerCase());
        if (other && other !== ue && other.first.address === ue.first.address) return this.merge(other, ue);
      } catch {
        // Nothing to learn from an unreadable From.
      }
    }
    let target = ue;
    const byImpi = ue.impi ? this.byImpi.get(ue.impi) : undefined;
    const byImpu = ue.impu ? this.byImpu.get(ue.impu.toLowerCase()) : undefined;
    if (byImpi && byImpi !== ue) target = this.merge(byImpi, ue);
    else if (byImpu && byImpu !== ue && (!byImpu.impi || !ue.impi)) target = this.merge(byImpu, ue);
    if (target.impi) this.byImpi.set(target.impi, target);
    if (target.impu) this.byImpu.set(target.impu.toLowerCase(), target);
    return target;
  }

  /** Maps one more endpoint to the UE; returns the UE that survives if the endpoint was another's. */
  private alias(key: string, ue: UeState): UeState {
    const current = this.byEndpoint.get(key);
    if (current === ue) return ue;
    if (current) return this.merge(current, ue);
    this.byEndpoint.set(key, ue);
    ue.endpoints.push(key);
    return ue;
  }

  /** The older UE takes in the newer one's messages, facts and endpoints. */
  private merge(a: UeState, b: UeState): UeState {
    const [keep, gone] = a.id < b.id ? [a, b] : [b, a];
    keep.log.absorb(gone.log);
    keep.judge.absorb(gone.judge);
    keep.impi ??= gone.impi;
    keep.impu ??= gone.impu;
    keep.userAgent ??= gone.userAgent;
    keep.firstSeen = Math.min(keep.firstSeen, gone.firstSeen);
    keep.lastSeen = Math.max(keep.lastSeen, gone.lastSeen);
    keep.unparsable += gone.unparsable;
    for (const k of gone.endpoints) {
      this.byEndpoint.set(k, keep);
      if (!keep.endpoints.includes(k)) keep.endpoints.push(k);
    }
    for (const map of [this.byImpi, this.byImpu]) for (const [k, v] of map) if (v === gone) map.set(k, keep);
    const i = this.ues.indexOf(gone);
    if (i >= 0) this.ues.splice(i, 1);
    return keep;
  }

  private judgeUe(ue: UeState, now: number): UeJson {
    const messages = ue.log.messages();
    const ctx = new RequirementContext(
      messages,
      now,
      ue.transport,
      ue.impi,
      ue.impu,
      ue.judge.facts,
      this.options,
      ue.impi ? (this.notesByImpi.get(ue.impi) ?? []) : [],
      ue.log.dropped,
    );
    const requirements: RequirementJson[] = this.requirements.map((r) => {
      const base = { id: r.id, clause: r.clause, title: r.title };
      try {
        if (!r.appliesTo(ctx)) return { ...base, status: 'not-applicable', evidence: `applies when ${r.appliesWhen}`, advice: '' };
        const out = r.evaluate(ctx);
        return { ...base, status: out.status, evidence: out.evidence, advice: out.advice };
      } catch (e) {
        return { ...base, status: 'not-met', evidence: `could not be judged: ${(e as Error).message}`, advice: 'Check the message syntax against RFC 3261 §25.' };
      }
    });
    const count = (s: RequirementJson['status']) => requirements.filter((r) => r.status === s).length;
    const [, addr, port] = ue.endpoints[0]!.split('|');
    return {
      identity: { impi: ue.impi ?? null, impu: ue.impu ?? null },
      address: `${addr!.includes(':') ? `[${addr}]` : addr}:${port}`,
      endpoints: ue.endpoints.map((k) => {
        const [t, a, p] = k.split('|');
        return `${t}:${a!.includes(':') ? `[${a}]` : a}:${p}`;
      }),
      transport: ue.transport,
      userAgent: ue.userAgent ?? null,
      firstSeen: ue.firstSeen,
      lastSeen: ue.lastSeen,
      messages: { seen: ue.log.seen, kept: ue.log.kept, unparsable: ue.unparsable },
      requirements,
      summary: { met: count('met'), notMet: count('not-met'), notApplicable: count('not-applicable') },
    };
  }
}
