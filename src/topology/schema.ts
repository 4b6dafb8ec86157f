import { isIP } from 'node:net';
import { z } from 'zod';
import { reachableUri } from './directory.js';

/**
 * The topology file: which network functions run, on which loopback addresses, who the subscribers and
 * UEs are, and what the scenarios do. One zod schema validates the YAML shape; `TopologyFile` then resolves
 * defaults (addresses, ports, entry points) and checks every cross-reference, reporting each problem at the
 * path of the field so the loader can name its line. docs/topologies.md documents every field.
 */

// ---------------------------------------------------------------------------------------------------------
// The resolved model handed to the runner: every default filled in, every reference checked.

export type NodeKind = 'pcscf' | 'icscf' | 'scscf' | 'hss' | 'proxy' | 'as';
export const NODE_KINDS: readonly NodeKind[] = ['pcscf', 'icscf', 'scscf', 'hss', 'proxy', 'as'];

export type AuthScheme = 'aka' | 'digest';
export type UeTransport = 'udp' | 'tcp' | 'tls';

export interface Transports {
  udp?: number;
  tcp?: number;
  tls?: number;
  /** Diameter over TCP (RFC 6733 §2.1); only on the HSS. */
  diameter?: number;
}

/** Applied by the runner to what a node sends: a lab for retransmission timers (RFC 3261 §17.1.1.2). */
export interface Impairment {
  /** Probability in [0, 1] that a packet is dropped. */
  loss: number;
  delayMs: number;
  /** Each packet's delay is drawn from [delay - jitter, delay + jitter] (seeded). */
  jitterMs: number;
  duplicate: number;
  reorder: number;
}

/** Inbound request limits of a SIP node (issue 8 point 4; src/sip/transport/limits.ts). */
export interface NodeLimits {
  /** Requests per second from one UE source before 503 + Retry-After (RFC 3261 §21.5.4); absent = unlimited. */
  rate?: number;
  burst?: number;
  retryAfter?: number;
  /** Largest request in octets before 513 (RFC 3261 §21.5.14). */
  maxMessageSize?: number;
  /** Most header fields in a request before 513. */
  maxHeaders?: number;
}

interface NodeBase {
  name: string;
  kind: NodeKind;
  description?: string;
  address: string;
  /** The node's FQDN: Diameter Origin-Host (RFC 6733 §6.3) and display name. */
  host: string;
  domain: string;
  transports: Transports;
  impairment?: Impairment;
  limits?: NodeLimits;
}

/** A hop named either by node name or by SIP URI (outside the topology, still on loopback). */
export type HopRef = { kind: 'node'; name: string } | { kind: 'uri'; uri: string; address: string; port: number };

export interface PcscfNode extends NodeBase {
  kind: 'pcscf';
  /** The home network's entry point for REGISTER (TS 24.229 §5.2.2.1). */
  icscf: HopRef;
  /** Offer security agreement (RFC 3329, TS 33.203 §7) to UEs using IMS AKA. */
  secAgree: boolean;
  /** P-Visited-Network-ID value (RFC 7315 §4.3, TS 24.229 §5.2.2.1). */
  visitedNetworkId: string;
}
export interface IcscfNode extends NodeBase {
  kind: 'icscf';
  hss: string;
  /** S-CSCFs it may choose from by capabilities (TS 29.228 §6.1.1, UAA Server-Capabilities). */
  scscfs: string[];
  /**
   * Addresses of P-CSCFs outside the topology (e.g. Kamailio) whose integrity-protected and P-Asserted-Identity
   * it believes, besides the topology's own (TS 33.210 trust domain, TS 24.229 §4.4).
   */
  trustedPeers?: string[];
}
export interface ScscfNode extends NodeBase {
  kind: 'scscf';
  hss: string;
  /** Capabilities it offers (TS 29.228 §6.7, Mandatory/Optional-Capability). */
  capabilities: number[];
  /** Its SIP URI as stored in the HSS as Server-Name (TS 29.228 §6.1.2). */
  uri: string;
  minExpires: number;
  maxExpires: number;
  /** As IcscfNode.trustedPeers: outside P-CSCFs that send to this S-CSCF directly. */
  trustedPeers?: string[];
}
export interface HssNode extends NodeBase {
  kind: 'hss';
  /** Diameter Origin-Realm (RFC 6733 §6.4). */
  realm: string;
}
export interface ProxyNode extends NodeBase {
  kind: 'proxy';
  next?: HopRef;
  recordRoute: boolean;
  /** A stateful proxy with a registrar (RFC 3261 §16, §10.3), or a redirect server answering 302 (§8.3). */
  mode: 'proxy' | 'redirect';
  /** Digest (§22): true challenges REGISTER (401) and its users' requests (407); 'register' REGISTER only; false none. */
  auth: boolean | 'register';
  /** Registration intervals the registrar accepts, in seconds (§10.3 step 7: 423 below the minimum). */
  minExpires?: number;
  maxExpires?: number;
}
export interface AsNode extends NodeBase {
  kind: 'as';
}
export type TopologyNode = PcscfNode | IcscfNode | ScscfNode | HssNode | ProxyNode | AsNode;

export interface Subscriber {
  impi: string;
  /** The first is the default public identity (TS 23.228 §4.3.3.1). */
  impus: string[];
  schemes: AuthScheme[];
  /** Hex, lowercase. */
  k?: string;
  op?: string;
  opc?: string;
  amf: string;
  /** The HSS's SQN (48 bits, TS 33.102 §6.3.2) as an integer. */
  sqn: number;
  password?: string;
  barred: string[];
  /**
   * false: the subscriber exists only on the UE's side (its USIM or password), the HSS is never told of it,
   * so a UE bound to it meets an unknown IMPI (UAA DIAMETER_ERROR_USER_UNKNOWN → 403, TS 29.228 §6.1.1).
   */
  provisioned?: false;
}

export interface UsimOverrides {
  k?: string;
  op?: string;
  opc?: string;
  amf?: string;
  sqn?: number;
}

export interface UeSpec {
  name: string;
  /** As written: an IMPI or an IMPU. */
  subscriber: string;
  pcscf: string;
  address: string;
  port: number;
  transport: UeTransport;
  secAgree: boolean;
  auth: AuthScheme;
  usim?: UsimOverrides;
  instanceId?: string;
  /** Seconds requested in REGISTER (TS 24.229 §5.1.1.2.1). */
  expires: number;
  preconditions: boolean;
  answer: 'auto' | 'busy' | 'noanswer';
  answerAfterMs: number;
  /** Codecs the UE takes in an offer (RFC 3264 §6.1); absent: every codec a simulated UE knows. */
  codecs?: UeCodec[];
  /** The UE's own send path, impaired like a node's (a lossy radio link, issue 8 point 1). */
  impairment?: Impairment;
  /** SRTP media with SDES keys (RFC 3711, RFC 4568): offers RTP/SAVP with a=crypto and accepts such offers. */
  srtp?: boolean;
  /** Session interval the UE asks for and Min-SE it accepts, in seconds (RFC 4028); default 1800 and 90. */
  sessionExpires?: number;
  minSe?: number;
  /** A confirmed call that receives no RTP for this long is ended with BYE (handset practice); default 30 s. */
  mediaTimeoutMs?: number;
}

/** What a register step expects: success (absent), any failure, or a final status of the REGISTER. */
export type RegisterExpectation = 'failed' | number;

export type ScenarioStep =
  | { kind: 'register'; ue: string; expect?: RegisterExpectation }
  | { kind: 'deregister'; ue: string }
  | { kind: 'wait'; ms: number }
  | {
      kind: 'call';
      from: string;
      to: string;
      durationMs?: number;
      codec?: string;
      preconditions?: boolean;
      /** The final status the INVITE must get (a failure status: the step passes when the call fails so). */
      expect?: number;
      /** The caller CANCELs when no final answer came within this many ms (RFC 3261 §9.1). */
      timeoutMs?: number;
      maxForwards?: number;
      /** P-Preferred-Identity claimed: a UE name or a URI (RFC 3325 §9.2). */
      identity?: string;
      /** 'hangup': the call stays up until a hangup step. */
      until?: 'hangup';
    }
  /** RFC 3264 §8.4: the UE puts its confirmed call on hold / takes it off hold with a re-INVITE. */
  | { kind: 'hold' | 'resume'; ue: string }
  /** RFC 4733: the UE sends digits as RTP events on its confirmed call. */
  | { kind: 'dtmf'; ue: string; digits: string; durationMs?: number }
  | { kind: 'hangup'; ue: string }
  | { kind: 'message'; from: string; to: string; text: string }
  | { kind: 'expect'; expect: Expectation }
  /** Issue 8 point 2: take a network function out of the running topology, bring it back, or both. */
  | { kind: 'stop' | 'start' | 'restart'; node: string };

export interface Expectation {
  registered?: string[];
  unregistered?: string[];
  lastStatus?: { ue: string; code: number };
  messagesReceived?: { ue: string; count: number };
  /** The DTMF digits the UE received on its calls, all of them in order. */
  dtmfReceived?: { ue: string; digits: string };
  /** The identity the network asserted to the UE for its last incoming call: a UE name or a URI. */
  lastCaller?: { ue: string; identity: string };
}

/** The voice codecs a simulated UE can offer and answer with (src/sdp/codecs.ts). */
export type UeCodec = 'PCMU' | 'PCMA' | 'AMR-WB' | 'opus';

export interface Timers {
  T1: number;
  T2: number;
  T4: number;
  /** Diameter watchdog (RFC 3539 §3.4.1). */
  Tw: number;
  /** Diameter reconnect (RFC 6733 §5.1 Tc) of the CSCFs' links to the HSS; absent = 30 s (§12). */
  Tc?: number;
}

export interface Topology {
  name: string;
  description?: string;
  /** Home domains; the first is the default for nodes and subscribers. */
  domains: string[];
  seed: number | string;
  timers: Timers;
  /** Absolute, resolved against the topology file's folder. */
  dataDir?: string;
  nodes: TopologyNode[];
  subscribers: Subscriber[];
  /** Absolute path of the subscriber CSV, resolved against the topology file's folder. */
  subscribersCsv?: string;
  ues: UeSpec[];
  scenarios: Record<string, ScenarioStep[]>;
  defaultScenario?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Field types.

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const DOMAIN_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HEX_RE = /^[0-9A-Fa-f]+$/;

const name = z.string().refine((s) => NAME_RE.test(s), {
  error: (i) => `${JSON.stringify(i.input)} is not a name (a letter, then letters, digits, "-" or "_"; at most 32)`,
});
const domain = z.string().refine((s) => DOMAIN_RE.test(s), {
  error: (i) => `${JSON.stringify(i.input)} is not a domain name`,
});

export function isLoopback(address: string): boolean {
  const v = isIP(address);
  if (v === 4) return address.startsWith('127.');
  if (v === 6) return address === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(address) || address.toLowerCase().startsWith('::ffff:127.');
  return false;
}

const address = z.string().superRefine((s, ctx) => {
  if (isIP(s) === 0) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not an IPv4 or IPv6 address` });
  else if (!isLoopback(s))
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a loopback address (127.0.0.0/8 or ::1): imslab stays on this machine` });
});

const port = z.number().int().min(1).max(65535);

function hex(octets: number) {
  return z
    .string()
    .refine((s) => s.length === octets * 2 && HEX_RE.test(s), {
      error: (i) => `${JSON.stringify(i.input)} is not ${octets} octets of hex (${octets * 2} hex digits)`,
    })
    .transform((s) => s.toLowerCase());
}

/** SQN (48 bits): an integer or 12 hex digits. */
const sqn = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0 && v < 2 ** 48) return v;
  } else if (v.length === 12 && HEX_RE.test(v)) return parseInt(v, 16);
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a 48-bit SQN (an integer or 12 hex digits)` });
  return z.NEVER;
});

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|min)?$/;
/** Milliseconds as a number, or "500ms", "2s", "1.5s", "1m". */
export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') {
    if (Number.isFinite(v) && v >= 0) return v;
  } else {
    const m = DURATION_RE.exec(v.trim());
    if (m) {
      const n = Number(m[1]);
      const unit = m[2] ?? 'ms';
      return unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
    }
  }
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a duration (milliseconds, or "500ms", "2s", "1m")` });
  return z.NEVER;
});

/** A probability in [0, 1], or a percentage string such as "5%". */
const probability = z.union([z.number(), z.string()]).transform((v, ctx) => {
  let p = NaN;
  if (typeof v === 'number') p = v;
  else if (/^\d+(\.\d+)?%$/.test(v.trim())) p = Number(v.trim().slice(0, -1)) / 100;
  if (p >= 0 && p <= 1) return p;
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a probability (0…1 or "0%"…"100%")` });
  return z.NEVER;
});

const publicIdentity = z.string().refine((s) => /^(sips?:[^\s@]+@[^\s@]+|sips?:[^\s@]+|tel:\+?[0-9A-Fa-f*#().-]+(;.*)?)$/.test(s), {
  error: (i) => `${JSON.stringify(i.input)} is not a public user identity (sip:user@domain or tel:+number, TS 23.003 §13.4)`,
});
const privateIdentity = z.string().refine((s) => /^[^\s@:<>]+@[A-Za-z0-9.-]+$/.test(s), {
  error: (i) => `${JSON.stringify(i.input)} is not a private user identity (username@realm, TS 23.003 §13.3)`,
});

// ---------------------------------------------------------------------------------------------------------
// The file's shape.

const transports = z.strictObject({ udp: port.optional(), tcp: port.optional(), tls: port.optional(), diameter: port.optional() });

const impairment = z.strictObject({
  loss: probability.optional(),
  delay: duration.optional(),
  jitter: duration.optional(),
  duplicate: probability.optional(),
  reorder: probability.optional(),
});

const limits = z.strictObject({
  rate: z.number().positive().optional(),
  burst: z.number().min(1).optional(),
  retryAfter: z.number().int().min(0).optional(),
  maxMessageSize: z.number().int().min(512).optional(),
  maxHeaders: z.number().int().min(8).optional(),
});

const nodeCommon = {
  name,
  description: z.string().optional(),
  address: address.optional(),
  host: domain.optional(),
  domain: domain.optional(),
  transports: transports.optional(),
  impairment: impairment.optional(),
  limits: limits.optional(),
};

const nodeFile = z.discriminatedUnion('kind', [
  z.strictObject({
    ...nodeCommon,
    kind: z.literal('pcscf'),
    icscf: z.string().optional(),
    secAgree: z.boolean().optional(),
    visitedNetworkId: z.string().min(1).optional(),
  }),
  z.strictObject({ ...nodeCommon, kind: z.literal('icscf'), hss: name.optional(), scscfs: z.array(name).optional(), trustedPeers: z.array(address).optional() }),
  z.strictObject({
    ...nodeCommon,
    kind: z.literal('scscf'),
    hss: name.optional(),
    capabilities: z.array(z.number().int().min(0).max(0xffffffff)).optional(),
    uri: z.string().regex(/^sips?:\S+$/, 'is not a SIP URI').optional(),
    minExpires: z.number().int().min(1).optional(),
    maxExpires: z.number().int().min(1).optional(),
    trustedPeers: z.array(address).optional(),
  }),
  z.strictObject({ ...nodeCommon, kind: z.literal('hss'), realm: domain.optional() }),
  z.strictObject({
    ...nodeCommon,
    kind: z.literal('proxy'),
    next: z.string().optional(),
    recordRoute: z.boolean().optional(),
    mode: z.enum(['proxy', 'redirect']).optional(),
    auth: z.union([z.boolean(), z.literal('register')]).optional(),
    minExpires: z.number().int().min(1).optional(),
    maxExpires: z.number().int().min(1).optional(),
  }),
  z.strictObject({ ...nodeCommon, kind: z.literal('as') }),
]);
type NodeFile = z.infer<typeof nodeFile>;

const authField = z.union([z.enum(['aka', 'digest', 'both']), z.array(z.enum(['aka', 'digest'])).min(1)]);

const subscriberFile = z.strictObject({
  impi: privateIdentity,
  impus: z.array(publicIdentity).min(1),
  auth: authField.optional(),
  k: hex(16).optional(),
  op: hex(16).optional(),
  opc: hex(16).optional(),
  amf: hex(2).optional(),
  sqn: sqn.optional(),
  password: z.string().min(1).optional(),
  barred: z.array(z.string()).optional(),
  provisioned: z.boolean().optional(),
});

const ueFile = z.strictObject({
  name,
  subscriber: z.string().min(1),
  pcscf: name.optional(),
  address: address.optional(),
  port: port.optional(),
  transport: z.enum(['udp', 'tcp', 'tls']).optional(),
  secAgree: z.boolean().optional(),
  auth: z.enum(['aka', 'digest']).optional(),
  usim: z
    .strictObject({ k: hex(16).optional(), op: hex(16).optional(), opc: hex(16).optional(), amf: hex(2).optional(), sqn: sqn.optional() })
    .optional(),
  instanceId: z
    .string()
    .regex(/^urn:(uuid:[0-9a-fA-F-]{36}|gsma:imei:[0-9-]+)$/, 'is not a urn:uuid or urn:gsma:imei instance ID (RFC 5626 §4.1, TS 24.229 §5.1.1.2.1)')
    .optional(),
  expires: z.number().int().min(0).optional(),
  preconditions: z.boolean().optional(),
  answer: z.enum(['auto', 'busy', 'noanswer']).optional(),
  answerAfter: duration.optional(),
  impairment: impairment.optional(),
  codecs: z.array(z.enum(['PCMU', 'PCMA', 'AMR-WB', 'opus'])).min(1).optional(),
  srtp: z.boolean().optional(),
  sessionExpires: z.number().int().min(1).optional(),
  minSe: z.number().int().min(1).optional(),
  mediaTimeout: duration.optional(),
});

// Scenario steps are one-key mappings (`- register: alice`); each kind validates its own value.
const destination = z.string().min(1);
const ueList = z.union([name, z.array(name).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));
const STEP_VALUES = {
  // `- register: alice`, or `- register: { ue: alice, expect: 403 }` / `expect: failed` for a refusal.
  register: z.union([
    name,
    z.strictObject({ ue: name, expect: z.union([z.literal('failed'), z.number().int().min(300).max(699)]).optional() }),
  ]),
  deregister: name,
  hangup: name,
  wait: duration,
  call: z.strictObject({
    from: name,
    to: destination,
    duration: duration.optional(),
    codec: z.enum(['PCMU', 'PCMA', 'AMR-WB', 'opus']).optional(),
    preconditions: z.boolean().optional(),
    expect: z.number().int().min(200).max(699).optional(),
    timeout: duration.optional(),
    maxForwards: z.number().int().min(0).max(255).optional(),
    identity: destination.optional(),
    until: z.literal('hangup').optional(),
  }),
  hold: name,
  resume: name,
  dtmf: z.strictObject({ ue: name, digits: z.string().regex(/^[0-9*#A-Da-d]+$/, 'holds only DTMF digits 0-9, *, #, A-D (RFC 4733 §3.2)'), duration: duration.optional() }),
  message: z.strictObject({ from: name, to: destination, text: z.string() }),
  expect: z
    .strictObject({
      registered: ueList.optional(),
      unregistered: ueList.optional(),
      lastStatus: z.strictObject({ ue: name, code: z.number().int().min(100).max(699) }).optional(),
      messagesReceived: z.strictObject({ ue: name, count: z.number().int().min(0) }).optional(),
      dtmfReceived: z.strictObject({ ue: name, digits: z.string() }).optional(),
      lastCaller: z.strictObject({ ue: name, identity: destination }).optional(),
    })
    .refine((e) => Object.keys(e).length > 0, 'names nothing to expect'),
  stop: name,
  start: name,
  restart: name,
} as const;
type StepKind = keyof typeof STEP_VALUES;
export const STEP_KINDS = Object.keys(STEP_VALUES) as StepKind[];
/** Steps the scenario language will have, not implemented by the runner yet: rejected with a clear word. */
const PLANNED_STEPS = new Set(['transfer']);

type ParsedStep =
  | { register: z.infer<(typeof STEP_VALUES)['register']> }
  | { deregister: string }
  | { hangup: string }
  | { wait: number }
  | { call: z.infer<(typeof STEP_VALUES)['call']> }
  | { hold: string }
  | { resume: string }
  | { dtmf: { ue: string; digits: string; duration?: number } }
  | { message: { from: string; to: string; text: string } }
  | { expect: Expectation }
  | { stop: string }
  | { start: string }
  | { restart: string };

const step = z.unknown().transform((v, ctx): ParsedStep => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: `a step is a mapping with one key (${STEP_KINDS.join(', ')}), e.g. "- register: alice"` });
    return z.NEVER;
  }
  const keys = Object.keys(v);
  if (keys.length !== 1) {
    ctx.addIssue({ code: 'custom', message: `a step has exactly one key, found ${keys.length} (${keys.join(', ')}); start a new "- " item per step` });
    return z.NEVER;
  }
  const key = keys[0]!;
  if (!(key in STEP_VALUES)) {
    const why = PLANNED_STEPS.has(key) ? 'is planned but not supported yet' : 'is not a step';
    ctx.addIssue({ code: 'custom', path: [key], message: `"${key}" ${why}; known steps: ${STEP_KINDS.join(', ')}` });
    return z.NEVER;
  }
  const r = STEP_VALUES[key as StepKind].safeParse((v as Record<string, unknown>)[key], { error: topologyErrorMap });
  if (!r.success) {
    for (const iss of r.error.issues) ctx.addIssue({ ...(iss as object), code: 'custom', message: iss.message, path: [key, ...iss.path] } as never);
    return z.NEVER;
  }
  return { [key]: r.data } as ParsedStep;
});

const timersFile = z.strictObject({ T1: duration.optional(), T2: duration.optional(), T4: duration.optional(), Tw: duration.optional(), Tc: duration.refine((v) => v > 0, 'must be above 0').optional() });

const topologyShape = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  domains: z.array(domain).min(1),
  seed: z.union([z.number().int(), z.string().min(1)]).optional(),
  timers: timersFile.optional(),
  dataDir: z.string().min(1).optional(),
  nodes: z.array(nodeFile).min(1),
  subscribers: z.array(subscriberFile).optional(),
  subscribersCsv: z.string().min(1).optional(),
  ues: z.array(ueFile).optional(),
  scenarios: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'is not a scenario name'), z.array(step).min(1)).optional(),
  defaultScenario: z.string().optional(),
});
type TopologyShape = z.infer<typeof topologyShape>;

// ---------------------------------------------------------------------------------------------------------
// Defaults and cross-references.

/** Each kind has its own /24 on loopback, so a capture reads like a real network (ARCHITECTURE). */
export const KIND_SUBNETS: Record<NodeKind, string> = {
  pcscf: '127.0.1.',
  icscf: '127.0.2.',
  scscf: '127.0.3.',
  hss: '127.0.4.',
  proxy: '127.0.5.',
  as: '127.0.6.',
};
export const UE_SUBNET = '127.0.10.';

/** The names the specs use (TS 23.228 §4.6), for messages. */
export const KIND_LABELS: Record<NodeKind, string> = {
  pcscf: 'P-CSCF',
  icscf: 'I-CSCF',
  scscf: 'S-CSCF',
  hss: 'HSS',
  proxy: 'proxy',
  as: 'AS',
};
function withArticle(kind: NodeKind): string {
  const label = KIND_LABELS[kind];
  return /^[AEFHILMNORSX]/.test(label) && label !== 'proxy' ? `an ${label}` : `a ${label}`;
}

export const DEFAULT_TRANSPORTS: Record<NodeKind, Transports> = {
  pcscf: { udp: 5060, tcp: 5060, tls: 5061 },
  icscf: { udp: 5060, tcp: 5060 },
  scscf: { udp: 5060, tcp: 5060 },
  // RFC 6733 §2.1: 3868 is Diameter's registered TCP port.
  hss: { diameter: 3868 },
  proxy: { udp: 5060, tcp: 5060 },
  as: { udp: 5060, tcp: 5060 },
};

/** RFC 3261 §17.1.1.1 defaults, and RFC 3539 §3.4.1's 30 s watchdog. */
export const DEFAULT_TIMERS: Timers = { T1: 500, T2: 4000, T4: 5000, Tw: 30_000 };

export interface ResolveContext {
  /** Turns a path from the file (dataDir, subscribersCsv) into an absolute one. */
  resolvePath(p: string): string;
}

type Ctx = z.RefinementCtx;
type Path = (string | number)[];
function fail(ctx: Ctx, path: Path, message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

/** Parses `sip:host:port` where host must be a loopback literal (no DNS here, RFC 3263 §4.2 aside). */
function parseHopUri(uri: string): { address: string; port: number } | string {
  const m = /^sips?:(?:[^@;>]+@)?(\[[0-9A-Fa-f:.]+\]|[0-9.]+)(?::(\d{1,5}))?(;[^\s]*)?$/.exec(uri);
  if (!m) return `${JSON.stringify(uri)} is neither a node name nor a SIP URI with a numeric host (sip:127.0.0.1:5060)`;
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  if (isIP(host) === 0) return `${JSON.stringify(host)} in ${JSON.stringify(uri)} is not an IP address`;
  if (!isLoopback(host)) return `${JSON.stringify(uri)} is not on loopback (127.0.0.0/8 or ::1): imslab stays on this machine`;
  const p = m[2] === undefined ? (uri.startsWith('sips:') ? 5061 : 5060) : Number(m[2]);
  if (p < 1 || p > 65535) return `port ${p} in ${JSON.stringify(uri)} is out of range`;
  return { address: host, port: p };
}

function resolve(raw: TopologyShape, ctx: Ctx, env: ResolveContext): Topology {
  const home = raw.domains[0]!;
  const rawNodes = raw.nodes;
  const byName = new Map<string, { node: NodeFile; index: number }>();
  const ueNames = new Set((raw.ues ?? []).map((u) => u.name));

  rawNodes.forEach((n, i) => {
    if (byName.has(n.name)) fail(ctx, ['nodes', i, 'name'], `"${n.name}" is already the name of nodes[${byName.get(n.name)!.index}]`);
    else byName.set(n.name, { node: n, index: i });
  });

  // Addresses: explicit ones first, then each kind's defaults in order, skipping taken ones.
  const taken = new Set<string>();
  for (const n of rawNodes) if (n.address) taken.add(n.address);
  for (const u of raw.ues ?? []) if (u.address) taken.add(u.address);
  const allocate = (prefix: string): string => {
    for (let h = 1; h < 255; h++) {
      const a = prefix + h;
      if (!taken.has(a)) {
        taken.add(a);
        return a;
      }
    }
    return prefix + '254';
  };
  const addresses = rawNodes.map((n) => n.address ?? allocate(KIND_SUBNETS[n.kind]));

  // Listening sockets must not collide: UDP with UDP; TCP, TLS and Diameter share TCP's port space.
  const sockets = new Map<string, string>();
  const claim = (addr: string, proto: 'udp' | 'tcp', p: number, path: Path, owner: string) => {
    const key = `${proto}/${addr}/${p}`;
    const prev = sockets.get(key);
    if (prev) fail(ctx, path, `${proto.toUpperCase()} ${addr}:${p} is already used by ${prev}`);
    else sockets.set(key, owner);
  };

  const kindNames = (k: NodeKind) => rawNodes.filter((n) => n.kind === k).map((n) => n.name);
  const refNode = (value: string | undefined, kind: NodeKind, path: Path): string => {
    if (value === undefined) {
      const all = kindNames(kind);
      if (all.length === 1) return all[0]!;
      fail(ctx, path.slice(0, -1), `"${path[path.length - 1]}" is required: there are ${all.length} ${KIND_LABELS[kind]} nodes to choose from`);
      return '';
    }
    const target = byName.get(value)?.node;
    if (!target) fail(ctx, path, `unknown node "${value}"${suggest(value, [...byName.keys()])}`);
    else if (target.kind !== kind) fail(ctx, path, `"${value}" is ${withArticle(target.kind)}, not ${withArticle(kind)}`);
    return value;
  };
  const refHop = (value: string | undefined, kind: NodeKind, path: Path, required: boolean): HopRef | undefined => {
    if (value === undefined || NAME_RE.test(value)) {
      if (value === undefined && !required) return undefined;
      return { kind: 'node', name: refNode(value, kind, path) };
    }
    const hop = parseHopUri(value);
    if (typeof hop === 'string') {
      fail(ctx, path, hop);
      return undefined;
    }
    return { kind: 'uri', uri: value, ...hop };
  };

  const nodes: TopologyNode[] = rawNodes.map((n, i): TopologyNode => {
    const at: Path = ['nodes', i];
    const nodeDomain = n.domain ?? home;
    const t: Transports = n.transports ? { ...n.transports } : { ...DEFAULT_TRANSPORTS[n.kind] };
    if (n.kind === 'hss') {
      for (const k of ['udp', 'tcp', 'tls'] as const)
        if (t[k] !== undefined) fail(ctx, [...at, 'transports', k], 'an HSS speaks Diameter only (transports: { diameter: 3868 })');
      if (t.diameter === undefined) fail(ctx, [...at, 'transports'], 'an HSS needs a diameter port (RFC 6733 §2.1: 3868)');
    } else {
      if (t.diameter !== undefined) fail(ctx, [...at, 'transports', 'diameter'], `only an HSS listens for Diameter; a ${n.kind} connects to it`);
      if (t.udp === undefined && t.tcp === undefined && t.tls === undefined)
        fail(ctx, [...at, 'transports'], 'a SIP node needs at least one of udp, tcp, tls');
    }
    // A clash is reported where the user can fix it: the port if written, else the address if written.
    const where = (k: keyof Transports): Path => (n.transports ? [...at, 'transports', k] : n.address ? [...at, 'address'] : at);
    if (t.udp !== undefined) claim(addresses[i]!, 'udp', t.udp, where('udp'), n.name);
    for (const k of ['tcp', 'tls', 'diameter'] as const) if (t[k] !== undefined) claim(addresses[i]!, 'tcp', t[k]!, where(k), n.name);

    const base = {
      name: n.name,
      kind: n.kind,
      ...(n.description !== undefined ? { description: n.description } : {}),
      address: addresses[i]!,
      host: n.host ?? `${n.name}.${nodeDomain}`,
      domain: nodeDomain,
      transports: t,
      ...(n.impairment
        ? {
            impairment: {
              loss: n.impairment.loss ?? 0,
              delayMs: n.impairment.delay ?? 0,
              jitterMs: n.impairment.jitter ?? 0,
              duplicate: n.impairment.duplicate ?? 0,
              reorder: n.impairment.reorder ?? 0,
            },
          }
        : {}),
      ...(n.limits ? { limits: { ...n.limits } } : {}),
    };
    if (n.impairment && (n.impairment.jitter ?? 0) > (n.impairment.delay ?? 0))
      fail(ctx, [...at, 'impairment', 'jitter'], 'jitter is larger than delay: a packet cannot leave before it was sent');

    switch (n.kind) {
      case 'pcscf':
        return {
          ...base,
          kind: 'pcscf',
          icscf: refHop(n.icscf, 'icscf', [...at, 'icscf'], true) ?? { kind: 'node', name: '' },
          secAgree: n.secAgree ?? true,
          visitedNetworkId: n.visitedNetworkId ?? nodeDomain,
        };
      case 'icscf': {
        const hss = refNode(n.hss, 'hss', [...at, 'hss']);
        const scscfs = n.scscfs ?? kindNames('scscf');
        n.scscfs?.forEach((s, j) => refNode(s, 'scscf', [...at, 'scscfs', j]));
        if (scscfs.length === 0) fail(ctx, at, 'an I-CSCF needs at least one S-CSCF to assign (TS 29.228 §6.1.1)');
        return { ...base, kind: 'icscf', hss, scscfs, ...(n.trustedPeers ? { trustedPeers: [...n.trustedPeers] } : {}) };
      }
      case 'scscf': {
        const min = n.minExpires ?? 60;
        const max = n.maxExpires ?? 600_000;
        if (min > max) fail(ctx, [...at, 'minExpires'], `minExpires ${min} is above maxExpires ${max}`);
        return {
          ...base,
          kind: 'scscf',
          hss: refNode(n.hss, 'hss', [...at, 'hss']),
          capabilities: n.capabilities ?? [],
          uri: n.uri ?? reachableUri(addresses[i]!, t),
          minExpires: min,
          maxExpires: max,
          ...(n.trustedPeers ? { trustedPeers: [...n.trustedPeers] } : {}),
        };
      }
      case 'hss':
        return { ...base, kind: 'hss', realm: n.realm ?? nodeDomain };
      case 'proxy': {
        const next = refHop(n.next, 'scscf', [...at, 'next'], false);
        if (n.minExpires !== undefined && n.maxExpires !== undefined && n.minExpires > n.maxExpires)
          fail(ctx, [...at, 'minExpires'], `minExpires ${n.minExpires} is above maxExpires ${n.maxExpires}`);
        return {
          ...base,
          kind: 'proxy',
          ...(next ? { next } : {}),
          recordRoute: n.recordRoute ?? true,
          mode: n.mode ?? 'proxy',
          auth: n.auth ?? true,
          ...(n.minExpires !== undefined ? { minExpires: n.minExpires } : {}),
          ...(n.maxExpires !== undefined ? { maxExpires: n.maxExpires } : {}),
        };
      }
      case 'as':
        return { ...base, kind: 'as' };
    }
  });

  // Subscribers.
  const subscribers: Subscriber[] = [];
  const impis = new Map<string, number>();
  const impus = new Map<string, number>();
  (raw.subscribers ?? []).forEach((s, i) => {
    const at: Path = ['subscribers', i];
    if (impis.has(s.impi)) fail(ctx, [...at, 'impi'], `"${s.impi}" is already subscribers[${impis.get(s.impi)}]`);
    impis.set(s.impi, i);
    s.impus.forEach((u, j) => {
      if (impus.has(u)) fail(ctx, [...at, 'impus', j], `"${u}" already belongs to subscribers[${impus.get(u)}]`);
      impus.set(u, i);
    });
    const schemes: AuthScheme[] =
      s.auth === undefined ? [s.password !== undefined && s.k === undefined ? 'digest' : 'aka'] : s.auth === 'both' ? ['aka', 'digest'] : typeof s.auth === 'string' ? [s.auth] : [...new Set(s.auth)];
    if (schemes.includes('aka')) {
      if (s.k === undefined) fail(ctx, at, '"k" is required for IMS AKA (TS 33.203 §6.1)');
      if ((s.op === undefined) === (s.opc === undefined))
        fail(ctx, s.op !== undefined ? [...at, 'opc'] : at, 'IMS AKA needs exactly one of "op" or "opc" (TS 35.206 §4.1)');
    }
    if (schemes.includes('digest') && s.password === undefined) fail(ctx, at, '"password" is required for SIP digest (RFC 3261 §22.4)');
    (s.barred ?? []).forEach((b, j) => {
      if (!s.impus.includes(b)) fail(ctx, [...at, 'barred', j], `"${b}" is not one of this subscriber's impus`);
    });
    if (s.barred && s.impus.every((u) => s.barred!.includes(u)))
      fail(ctx, [...at, 'barred'], 'every IMPU is barred: registration would always fail (TS 29.228 §6.1.2)');
    subscribers.push({
      impi: s.impi,
      impus: s.impus,
      schemes,
      ...(s.k !== undefined ? { k: s.k } : {}),
      ...(s.op !== undefined ? { op: s.op } : {}),
      ...(s.opc !== undefined ? { opc: s.opc } : {}),
      // TS 33.102 Annex F: the AMF separation bit (bit 0) set is what an IMS/EPS HSS sends; 8000 is the usual lab value.
      amf: s.amf ?? '8000',
      sqn: s.sqn ?? 0,
      ...(s.password !== undefined ? { password: s.password } : {}),
      barred: s.barred ?? [],
      ...(s.provisioned === false ? { provisioned: false as const } : {}),
    });
  });

  // UEs.
  const ues: UeSpec[] = (raw.ues ?? []).map((u, i): UeSpec => {
    const at: Path = ['ues', i];
    if (byName.has(u.name)) fail(ctx, [...at, 'name'], `"${u.name}" is already the name of a node`);
    const dup = (raw.ues ?? []).findIndex((o) => o.name === u.name);
    if (dup < i) fail(ctx, [...at, 'name'], `"${u.name}" is already ues[${dup}]`);
    const subIndex = impis.get(u.subscriber) ?? impus.get(u.subscriber);
    const sub = subIndex === undefined ? undefined : subscribers[subIndex];
    if (!sub && raw.subscribersCsv === undefined)
      fail(ctx, [...at, 'subscriber'], `no subscriber has the IMPI or IMPU "${u.subscriber}"${suggest(u.subscriber, [...impis.keys(), ...impus.keys()])}`);
    const pcscf = refNode(u.pcscf, 'pcscf', [...at, 'pcscf']);
    const p = byName.get(pcscf)?.node;
    const transport = u.transport ?? 'udp';
    const pIndex = byName.get(pcscf)?.index;
    const pTransports = pIndex === undefined ? undefined : nodes[pIndex]!.transports;
    if (pTransports && pTransports[transport] === undefined)
      fail(ctx, [...at, 'transport'], `P-CSCF "${pcscf}" does not listen on ${transport.toUpperCase()}`);
    const auth = u.auth ?? sub?.schemes[0] ?? 'aka';
    if (sub && !sub.schemes.includes(auth)) fail(ctx, [...at, 'auth'], `subscriber "${sub.impi}" has no ${auth} credentials`);
    const pSecAgree = p?.kind === 'pcscf' ? (p.secAgree ?? true) : true;
    if (u.secAgree && p?.kind === 'pcscf' && p.secAgree === false)
      fail(ctx, [...at, 'secAgree'], `P-CSCF "${pcscf}" has secAgree: false (RFC 3329 needs both ends)`);
    if (u.impairment && (u.impairment.jitter ?? 0) > (u.impairment.delay ?? 0))
      fail(ctx, [...at, 'impairment', 'jitter'], 'jitter is larger than delay: a packet cannot leave before it was sent');
    const address = u.address ?? allocate(UE_SUBNET);
    claim(address, transport === 'udp' ? 'udp' : 'tcp', u.port ?? 5060, [...at, u.address ? 'address' : 'name'], `UE ${u.name}`);
    return {
      name: u.name,
      subscriber: u.subscriber,
      pcscf,
      address,
      port: u.port ?? 5060,
      transport,
      // TS 33.203 §7: sec-agree sets up IPsec for IMS AKA; digest UEs in this lab go without it.
      secAgree: u.secAgree ?? (pSecAgree && auth === 'aka'),
      auth,
      ...(u.usim ? { usim: u.usim } : {}),
      ...(u.instanceId ? { instanceId: u.instanceId } : {}),
      expires: u.expires ?? 600,
      preconditions: u.preconditions ?? false,
      answer: u.answer ?? 'auto',
      answerAfterMs: u.answerAfter ?? 0,
      ...(u.codecs ? { codecs: u.codecs } : {}),
      ...(u.impairment ? { impairment: impairmentOf(u.impairment) } : {}),
      ...(u.srtp ? { srtp: true } : {}),
      ...(u.sessionExpires !== undefined ? { sessionExpires: u.sessionExpires } : {}),
      ...(u.minSe !== undefined ? { minSe: u.minSe } : {}),
      ...(u.mediaTimeout !== undefined ? { mediaTimeoutMs: u.mediaTimeout } : {}),
    };
  });

  // Scenarios.
  const scenarios: Record<string, ScenarioStep[]> = {};
  const knownUes = [...ueNames];
  for (const [sname, steps] of Object.entries(raw.scenarios ?? {})) {
    scenarios[sname] = steps.map((s, j): ScenarioStep => {
      const at: Path = ['scenarios', sname, j];
      const ue = (v: string, path: Path) => {
        if (!ueNames.has(v)) fail(ctx, [...at, ...path], `unknown UE "${v}"${suggest(v, knownUes)}`);
      };
      const target = (v: string, path: Path) => {
        if (!/^(sips?|tel):/.test(v)) ue(v, path);
      };
      if ('register' in s) {
        if (typeof s.register === 'string') return ue(s.register, ['register']), { kind: 'register', ue: s.register };
        ue(s.register.ue, ['register', 'ue']);
        return { kind: 'register', ue: s.register.ue, ...(s.register.expect !== undefined ? { expect: s.register.expect } : {}) };
      }
      if ('deregister' in s) return ue(s.deregister, ['deregister']), { kind: 'deregister', ue: s.deregister };
      if ('hangup' in s) return ue(s.hangup, ['hangup']), { kind: 'hangup', ue: s.hangup };
      if ('hold' in s) return ue(s.hold, ['hold']), { kind: 'hold', ue: s.hold };
      if ('resume' in s) return ue(s.resume, ['resume']), { kind: 'resume', ue: s.resume };
      if ('dtmf' in s) {
        ue(s.dtmf.ue, ['dtmf', 'ue']);
        return { kind: 'dtmf', ue: s.dtmf.ue, digits: s.dtmf.digits, ...(s.dtmf.duration !== undefined ? { durationMs: s.dtmf.duration } : {}) };
      }
      if ('wait' in s) return { kind: 'wait', ms: s.wait };
      const node = (kind: 'stop' | 'start' | 'restart', v: string): ScenarioStep => {
        if (!byName.has(v)) fail(ctx, [...at, kind], `unknown node "${v}"${suggest(v, [...byName.keys()])}`);
        return { kind, node: v };
      };
      if ('stop' in s) return node('stop', s.stop);
      if ('start' in s) return node('start', s.start);
      if ('restart' in s) return node('restart', s.restart);
      if ('call' in s) {
        ue(s.call.from, ['call', 'from']);
        target(s.call.to, ['call', 'to']);
        if (s.call.identity !== undefined) target(s.call.identity, ['call', 'identity']);
        if (s.call.until !== undefined && s.call.duration !== undefined) fail(ctx, [...at, 'call', 'until'], 'a call lasts either a duration or until a hangup step, not both');
        return {
          kind: 'call',
          from: s.call.from,
          to: s.call.to,
          ...(s.call.duration !== undefined ? { durationMs: s.call.duration } : {}),
          ...(s.call.codec !== undefined ? { codec: s.call.codec } : {}),
          ...(s.call.preconditions !== undefined ? { preconditions: s.call.preconditions } : {}),
          ...(s.call.expect !== undefined ? { expect: s.call.expect } : {}),
          ...(s.call.timeout !== undefined ? { timeoutMs: s.call.timeout } : {}),
          ...(s.call.maxForwards !== undefined ? { maxForwards: s.call.maxForwards } : {}),
          ...(s.call.identity !== undefined ? { identity: s.call.identity } : {}),
          ...(s.call.until !== undefined ? { until: s.call.until } : {}),
        };
      }
      if ('message' in s) {
        ue(s.message.from, ['message', 'from']);
        target(s.message.to, ['message', 'to']);
        return { kind: 'message', ...s.message };
      }
      const e = s.expect;
      e.registered?.forEach((v, k) => ue(v, ['expect', 'registered', ...(e.registered!.length > 1 ? [k] : [])]));
      e.unregistered?.forEach((v, k) => ue(v, ['expect', 'unregistered', ...(e.unregistered!.length > 1 ? [k] : [])]));
      if (e.lastStatus) ue(e.lastStatus.ue, ['expect', 'lastStatus', 'ue']);
      if (e.messagesReceived) ue(e.messagesReceived.ue, ['expect', 'messagesReceived', 'ue']);
      if (e.dtmfReceived) ue(e.dtmfReceived.ue, ['expect', 'dtmfReceived', 'ue']);
      if (e.lastCaller) {
        ue(e.lastCaller.ue, ['expect', 'lastCaller', 'ue']);
        target(e.lastCaller.identity, ['expect', 'lastCaller', 'identity']);
      }
      return { kind: 'expect', expect: e };
    });
  }
  const scenarioNames = Object.keys(scenarios);
  if (raw.defaultScenario !== undefined && !(raw.defaultScenario in scenarios))
    fail(ctx, ['defaultScenario'], `no scenario is named "${raw.defaultScenario}"${suggest(raw.defaultScenario, scenarioNames)}`);
  const defaultScenario = raw.defaultScenario ?? ('default' in scenarios ? 'default' : scenarioNames[0]);

  return {
    name: raw.name,
    ...(raw.description !== undefined ? { description: raw.description } : {}),
    domains: raw.domains,
    seed: raw.seed ?? 1,
    timers: { ...DEFAULT_TIMERS, ...(raw.timers ?? {}) } as Timers,
    ...(raw.dataDir !== undefined ? { dataDir: env.resolvePath(raw.dataDir) } : {}),
    nodes,
    subscribers,
    ...(raw.subscribersCsv !== undefined ? { subscribersCsv: env.resolvePath(raw.subscribersCsv) } : {}),
    ues,
    scenarios,
    ...(defaultScenario !== undefined ? { defaultScenario } : {}),
  };
}

/** The whole file: shape, then defaults and cross-references. Parse with `{ error: topologyErrorMap }`. */
export function topologySchema(env: ResolveContext) {
  return topologyShape.transform((raw, ctx) => resolve(raw, ctx, env));
}

// ---------------------------------------------------------------------------------------------------------
// Messages a person understands.

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  return `${typeof v === 'number' ? 'the number' : typeof v} ${String(v)}`;
}

const EXPECTED_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Did-you-mean for a misspelt name: the closest candidate within two edits. */
export function suggest(value: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(value.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * zod's issues in topology words. For unrecognized keys the message holds one line per key, in the order
 * of `issue.keys`, so the loader can point at each key's own line.
 */
export const topologyErrorMap: z.core.$ZodErrorMap = (iss) => {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'is required';
      return `expected ${EXPECTED_WORDS[iss.expected] ?? iss.expected}, got ${describe(iss.input)}`;
    case 'invalid_value':
      return iss.values.length === 1
        ? `must be ${JSON.stringify(iss.values[0])}, not ${JSON.stringify(iss.input)}`
        : `${JSON.stringify(iss.input)} is not one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}${typeof iss.input === 'string' ? suggest(iss.input, iss.values.map(String)) : ''}`;
    case 'unrecognized_keys': {
      const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      const known = shape ? Object.keys(shape) : [];
      return iss.keys.map((k) => `unknown field "${k}"${suggest(k, known) || (known.length ? ` (known: ${known.join(', ')})` : '')}`).join('\n');
    }
    case 'invalid_union': {
      const d = (iss as { discriminator?: string; options?: unknown[] }).discriminator;
      if (d) {
        const opts = ((iss as { options?: unknown[] }).options ?? []).map(String);
        const v = (iss.input as Record<string, unknown> | undefined)?.[d];
        if (v === undefined) return `is required (one of ${opts.join(', ')})`;
        return `${JSON.stringify(v)} is not one of ${opts.join(', ')}${typeof v === 'string' ? suggest(v, opts) : ''}`;
      }
      return `expected ${describeUnion(iss.input)}`;
    }
    case 'too_small':
      if (iss.origin === 'array') return `needs at least ${String(iss.minimum)} item${iss.minimum === 1 ? '' : 's'}`;
      if (iss.origin === 'string') return 'must not be empty';
      return `${String(iss.input)} is below the minimum ${String(iss.minimum)}`;
    case 'too_big':
      return `${String(iss.input)} is above the maximum ${String(iss.maximum)}`;
    case 'invalid_format':
      return `${JSON.stringify(iss.input)} ${iss.message ?? 'has the wrong format'}`;
    default:
      return undefined;
  }
};

function describeUnion(input: unknown): string {
  return `a different kind of value, got ${describe(input)}`;
}

function impairmentOf(i: z.infer<typeof impairment>): Impairment {
  return { loss: i.loss ?? 0, delayMs: i.delay ?? 0, jitterMs: i.jitter ?? 0, duplicate: i.duplicate ?? 0, reorder: i.reorder ?? 0 };
}
