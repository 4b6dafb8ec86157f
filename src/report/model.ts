/**
 * The shapes of the conformance report: what is kept of a message seen between an outside UE and the P-CSCF,
 * what a requirement is, and the JSON every renderer reads. Nothing here does I/O.
 */
import type { SipMessage } from '../sip/message.js';
import type { Endpoint, TransportProtocol } from '../trace/events.js';
import type { DoctorSubscriber } from '../aka/doctor.js';

/** One SIP message between an outside UE and the P-CSCF, as the rules see it (body dropped, length kept). */
export interface Observed {
  /** Position in the trace stream. */
  seq: number;
  time: number;
  /** 'from-ue': the P-CSCF received it; 'to-ue': the P-CSCF sent it. */
  direction: 'from-ue' | 'to-ue';
  transport: TransportProtocol;
  /** The UE's endpoint (the packet's remote side). */
  ue: Endpoint;
  /** The P-CSCF's endpoint (the packet's local side). */
  pcscf: Endpoint;
  message: SipMessage;
  bodyLength: number;
  /** Request-Line or Status-Line, for evidence. */
  firstLine: string;
}

/** Retransmissions of the UE's own requests, judged as they arrive (RFC 3261 §17.1). */
export interface RetransmissionFacts {
  /** Requests retransmitted at least once. */
  transactions: number;
  retransmissions: number;
  /** Intervals seen, ms, the first few, for evidence. */
  sampleIntervals: number[];
  /** The first departures from the timers, in words, at most a few. */
  violations: string[];
  violationCount: number;
}

export type RequirementStatus = 'met' | 'not-met' | 'not-applicable';

export interface RequirementOutcome {
  status: RequirementStatus;
  /** What was seen: the header line or its absence, with the message's first line and time. */
  evidence: string;
  /** What to change in the UE; empty when nothing. */
  advice: string;
}

/** A subscriber record the AKA doctor can replay the UE's computation with. */
export type SubscriberLookup = (impi: string) => DoctorSubscriber | undefined;

/** One TS 24.229 §5.1 (or RFC) requirement on a UE: when it applies and how it is judged. */
export interface Requirement {
  /** Stable, kebab-case: appears in the JSON and in tests. */
  id: string;
  /** The clause(s) it comes from, e.g. "TS 24.229 §5.1.1.2.1". */
  clause: string;
  title: string;
  /** In words, when it applies; the evidence of a not-applicable result. */
  appliesWhen: string;
  appliesTo(ctx: RequirementContextView): boolean;
  evaluate(ctx: RequirementContextView): RequirementOutcome;
}

/** What a rule may read; implemented by RequirementContext (context.ts). */
export interface RequirementContextView {
  readonly messages: readonly Observed[];
  readonly now: number;
  readonly transport: TransportProtocol;
  readonly impi?: string | undefined;
  readonly impu?: string | undefined;
  readonly retransmissions: RetransmissionFacts;
  readonly options: ResolvedReportOptions;
  /** Notes of the core that name this UE's IMPI (e.g. the HSS: "the UE failed the challenge twice"). */
  readonly coreNotes: readonly string[];
  /** Messages left out of `messages` by the per-UE cap. */
  readonly dropped: number;
  registers(): Observed[];
  finalResponseTo(request: Observed): Observed | undefined;
  registrations(): Registration[];
  challenges(): ChallengeSeen[];
  usesAka(): boolean;
  describe(o: Observed): string;
  headerLine(o: Observed, name: string): string;
}

/** A REGISTER the core accepted with a binding left (granted expiry > 0). */
export interface Registration {
  request: Observed;
  response: Observed;
  /** Seconds granted by the registrar for the UE's contact (RFC 3261 §10.2.4). */
  grantedSeconds: number;
  expiresAt: number;
  serviceRoute: string[];
  associatedUris: string[];
}

/** A 401 the P-CSCF passed to the UE for one of its REGISTERs. */
export interface ChallengeSeen {
  request: Observed;
  response: Observed;
  nonce?: string | undefined;
  algorithm?: string | undefined;
  stale: boolean;
  /** Security-Server elements (RFC 3329 §2.3.1), when the P-CSCF offered sec-agree. */
  securityServer: string[];
}

export interface ResolvedReportOptions {
  /** RFC 3261 §17.1.1.1 T1 and T2, ms. */
  t1: number;
  t2: number;
  /** How long a challenge stays answerable (TS 24.229 Table 7.7.1 reg-await-auth). */
  challengeLifetimeMs: number;
  /** Time a UE gets after registering before a missing reg-event SUBSCRIBE counts (TS 24.229 §5.1.1.3). */
  graceMs: number;
  subscriberOf?: SubscriberLookup | undefined;
}

export interface RequirementJson {
  id: string;
  clause: string;
  title: string;
  status: RequirementStatus;
  evidence: string;
  advice: string;
}

export interface UeJson {
  /** IMPI (Authorization username) and IMPU (To of REGISTER), once seen. */
  identity: { impi: string | null; impu: string | null };
  /** The first endpoint the UE used, "address:port"; `endpoints` lists all. */
  address: string;
  endpoints: string[];
  transport: TransportProtocol;
  userAgent: string | null;
  firstSeen: number;
  lastSeen: number;
  messages: { seen: number; kept: number; unparsable: number };
  requirements: RequirementJson[];
  summary: { met: number; notMet: number; notApplicable: number };
}

export interface ReportJson {
  kind: 'imslab-conformance-report';
  version: 1;
  /** The standard the requirements come from. */
  standard: 'TS 24.229 §5.1';
  generatedAt: number;
  ues: UeJson[];
  /** `untracked`: outside endpoints seen after the UE cap was reached (counted, not judged). */
  summary: { ues: number; met: number; notMet: number; notApplicable: number; untracked: number };
}
