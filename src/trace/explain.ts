import type { PacketEvent } from './events.js';
import { cseqMethod, peekDiameter, peekSip, sipHeader, type DiameterPeek, type SipPeek } from './peek.js';

/**
 * One sentence per message, for a student reading a ladder: what this message is for at this hop, and the
 * clause that asks for it. The wording depends on who sends it to whom (a REGISTER from a UE is not the same
 * step as the REGISTER the P-CSCF forwards) and on a few header hints (credentials present, Expires 0,
 * the reg event package, AKA challenge). Pure: bytes in, words out; unknown bytes get a neutral sentence.
 */

export type NodeRole = 'ue' | 'pcscf' | 'icscf' | 'scscf' | 'hss' | 'proxy' | 'as' | 'unknown';

/** A participant of a trace: a node of the topology or a UE. */
export interface TraceNode {
  name: string;
  address: string;
  /** Node kind; UEs are 'ue'. When absent it is guessed from the name (pcscf1 → pcscf), else 'ue'. */
  kind?: string;
}

export interface ExplainContext {
  nodes: readonly TraceNode[];
}

export interface Explanation {
  /** The message's own first words: "REGISTER sip:ims.example.org", "401 Unauthorized", "UAR", "MAA 2001". */
  summary: string;
  /** A few characters for an arrow: "REGISTER", "401", "UAR", "MAA". */
  label: string;
  /** One line a student understands. */
  reason: string;
  /** Where the behaviour is specified, e.g. "TS 24.229 §5.1.1.2.1". */
  clause: string;
}

interface Hop {
  from: NodeRole;
  to: NodeRole;
}

const ROLES = new Set<NodeRole>(['ue', 'pcscf', 'icscf', 'scscf', 'hss', 'proxy', 'as']);

export function roleOf(node: TraceNode | undefined): NodeRole {
  if (!node) return 'unknown';
  const k = node.kind?.toLowerCase();
  if (k && ROLES.has(k as NodeRole)) return k as NodeRole;
  const m = /^(pcscf|icscf|scscf|hss|proxy|as)/i.exec(node.name);
  return m ? (m[1]!.toLowerCase() as NodeRole) : 'ue';
}

/** The node with this address (any port); the first one wins when several share it. */
export function nodeAt(nodes: readonly TraceNode[], address: string): TraceNode | undefined {
  return nodes.find((n) => n.address === address);
}

/** Sender and receiver roles of a packet event. */
function hopOf(e: PacketEvent, ctx: ExplainContext): Hop {
  const self = ctx.nodes.find((n) => n.name === e.node) ?? nodeAt(ctx.nodes, e.local.address);
  const peer = nodeAt(ctx.nodes, e.remote.address);
  // An address no node owns is an outside UE (SIPp, baresip) for SIP; for Diameter we cannot tell.
  const selfRole = self ? roleOf(self) : 'ue';
  const peerRole = peer ? roleOf(peer) : e.protocol === 'diameter' ? 'unknown' : 'ue';
  return e.direction === 'send' ? { from: selfRole, to: peerRole } : { from: peerRole, to: selfRole };
}

export function explain(event: PacketEvent, context: ExplainContext): Explanation {
  const hop = hopOf(event, context);
  switch (event.protocol) {
    case 'sip': {
      const p = peekSip(event.bytes);
      if (!p) return unreadable('SIP', event);
      return p.method !== undefined ? explainSipRequest(p, hop) : explainSipResponse(p, hop);
    }
    case 'diameter': {
      const d = peekDiameter(event.bytes);
      if (!d) return unreadable('Diameter', event);
      return explainDiameter(d);
    }
    case 'rtp':
      return explainRtp(event.bytes);
    case 'rtcp':
      return explainRtcp(event.bytes);
  }
}

function unreadable(what: string, e: PacketEvent): Explanation {
  return {
    summary: `${what} (${e.bytes.length} bytes, unreadable)`,
    label: '?',
    reason: `These bytes do not parse as ${what}; a receiver would discard them.`,
    clause: what === 'SIP' ? 'RFC 3261 §7' : 'RFC 6733 §3',
  };
}

// ---------------------------------------------------------------------------------------------------------
// SIP requests.

function shortUri(uri: string): string {
  return uri.length > 60 ? uri.slice(0, 59) + '…' : uri;
}

/** Expires 0 on the request or on every Contact means "remove my bindings" (RFC 3261 §10.2.2). */
function isDeregistration(p: SipPeek): boolean {
  const contacts = p.headers.get('contact') ?? [];
  if (contacts.some((c) => c.trim() === '*')) return true;
  const expires = sipHeader(p, 'Expires');
  const contactExpiries = contacts.map((c) => /;\s*expires\s*=\s*(\d+)/i.exec(c)?.[1]);
  if (contactExpiries.length > 0 && contactExpiries.every((x) => x !== undefined)) return contactExpiries.every((x) => Number(x) === 0);
  return expires !== undefined && Number(expires) === 0;
}

/** Credentials present: an Authorization with a non-empty response (TS 24.229 §5.1.1.2.1: the first is empty). */
function hasCredentials(p: SipPeek): boolean {
  const auth = sipHeader(p, 'Authorization');
  if (!auth) return false;
  const m = /response\s*=\s*"([^"]*)"/i.exec(auth);
  return !!m && m[1] !== '';
}

function isAka(header: string | undefined): boolean {
  return !!header && /algorithm\s*=\s*"?AKAv/i.test(header);
}

function eventPackage(p: SipPeek): string {
  return (sipHeader(p, 'Event') ?? '').split(';')[0]!.trim().toLowerCase();
}

function explainSipRequest(p: SipPeek, hop: Hop): Explanation {
  const method = p.method!;
  const summary = `${method} ${shortUri(p.requestUri!)}`;
  const r = (reason: string, clause: string): Explanation => ({ summary, label: method, reason, clause });
  const { from, to } = hop;

  switch (method) {
    case 'REGISTER': {
      const aka = isAka(sipHeader(p, 'Authorization'));
      if (isDeregistration(p)) {
        if (from === 'ue') return r('The UE deregisters: Expires 0 asks the registrar to remove its contact.', 'TS 24.229 §5.1.1.6; RFC 3261 §10.2.2');
        if (to === 'scscf') return r('The deregistration reaches the S-CSCF, which removes the binding and tells the HSS (SAR).', 'TS 24.229 §5.4.1.4');
        return r('Deregistration on its way to the registrar, along the same hops as the registration.', 'TS 24.229 §5.2.2, §5.3.1');
      }
      const creds = hasCredentials(p);
      if (from === 'ue') {
        if (!creds)
          return r(
            'The UE asks to register its public identity; it has no credentials yet (empty response), so the network will challenge it.',
            'TS 24.229 §5.1.1.2.1; TS 24.228 §6.2',
          );
        return aka
          ? r('The UE answers the AKA challenge: RES, computed on the USIM from RAND, proves it holds K.', 'TS 24.229 §5.1.1.5.1; RFC 3310 §3.2')
          : r('The UE answers the digest challenge with a response hashed from its password and the nonce.', 'TS 24.229 §5.1.1.2.1; RFC 2617 §3.2.2');
      }
      if (from === 'pcscf')
        return r(
          'The P-CSCF forwards the REGISTER to the home network\'s entry point, adding Path (so requests for the user come back through it), P-Visited-Network-ID and P-Charging-Vector.',
          'TS 24.229 §5.2.2.1; RFC 3327 §5',
        );
      if (from === 'icscf')
        return r('The I-CSCF, told by the HSS (UAA) which S-CSCF serves the user, forwards the REGISTER to it.', 'TS 24.229 §5.3.1.2');
      return r('A REGISTER on its way to the registrar.', 'RFC 3261 §10.2');
    }
    case 'SUBSCRIBE':
      if (eventPackage(p) === 'reg') {
        if (from === 'pcscf')
          return r('The P-CSCF subscribes to the user\'s registration state, to learn when the S-CSCF ends the registration.', 'TS 24.229 §5.2.3; RFC 3680 §3');
        if (from === 'ue')
          return r('The UE subscribes to its own registration state (reg event), to learn of network-initiated deregistration.', 'TS 24.229 §5.1.1.3; RFC 3680 §3');
        return r('A subscription to the registration-state event package on its way to the S-CSCF.', 'TS 24.229 §5.4.2.1.1; RFC 3680 §3');
      }
      return r(`A subscription to the "${eventPackage(p) || 'unnamed'}" event package.`, 'RFC 6665 §4.1');
    case 'NOTIFY':
      if (eventPackage(p) === 'reg')
        return r('The S-CSCF reports the registration state (application/reginfo+xml): which IMPUs are registered, with which contacts.', 'TS 24.229 §5.4.2.1.2; RFC 3680 §5');
      return r(`A notification for the "${eventPackage(p) || 'unnamed'}" event package.`, 'RFC 6665 §4.2');
    case 'INVITE': {
      const reInvite = /;\s*tag=/i.test(sipHeader(p, 'To') ?? '');
      if (reInvite) return r('A re-INVITE inside the dialog changes the session (hold, codec, media address).', 'RFC 3261 §14');
      if (from === 'ue') return r('The caller\'s UE starts a call: an INVITE with its SDP offer, sent to its P-CSCF (mobile origination).', 'TS 24.229 §5.1.3; RFC 3261 §13.2.1');
      if (from === 'pcscf' && to === 'ue')
        return r('The callee\'s P-CSCF delivers the INVITE to the UE at the contact it registered (mobile termination).', 'TS 24.229 §5.2.6.4; §5.1.4');
      if (from === 'pcscf')
        return r('The caller\'s P-CSCF routes the INVITE along the Service-Route learned at registration and asserts the caller\'s identity (P-Asserted-Identity).', 'TS 24.229 §5.2.6.3; RFC 3325 §9.1');
      if (from === 'scscf' && to === 'icscf')
        return r('The caller\'s S-CSCF, after originating services, sends the INVITE toward the callee\'s home network entry point.', 'TS 24.229 §5.4.3.2');
      if (from === 'icscf')
        return r('The I-CSCF, told by the HSS (LIA) which S-CSCF serves the callee, forwards the INVITE to it.', 'TS 24.229 §5.3.2.1');
      if (from === 'scscf')
        return r('The callee\'s S-CSCF routes the INVITE to the callee\'s contact, through the Path stored at registration.', 'TS 24.229 §5.4.3.3');
      return r('An INVITE starts a session with an SDP offer.', 'RFC 3261 §13.2.1');
    }
    case 'ACK':
      return r('ACK completes the INVITE three-way handshake; after a 2xx it goes end to end, after an error hop by hop.', 'RFC 3261 §13.2.2.4, §17.1.1.3');
    case 'BYE':
      return r('BYE ends the call; either party may send it, and media stops.', 'RFC 3261 §15.1.1');
    case 'CANCEL':
      return r('The caller gives up before the callee answers; the pending INVITE will end with 487.', 'RFC 3261 §9.1');
    case 'PRACK':
      return r('PRACK acknowledges a reliable provisional response (Require: 100rel), so it is not retransmitted.', 'RFC 3262 §4');
    case 'UPDATE':
      return r('UPDATE changes session parameters before the answer, e.g. to report that resource preconditions are met.', 'RFC 3311 §5.1; RFC 3312 §5');
    case 'MESSAGE':
      return r('A page-mode instant message: the text travels in the body, routed like an initial request.', 'RFC 3428 §4; TS 24.229 §5.1.2A');
    case 'OPTIONS':
      return r('OPTIONS asks what a node or UE supports, or only whether it is alive.', 'RFC 3261 §11');
    case 'INFO':
      return r('INFO carries application data (e.g. DTMF) inside a dialog.', 'RFC 6086 §4');
    case 'REFER':
      return r('REFER asks the peer to contact a third party (call transfer).', 'RFC 3515 §2');
    case 'PUBLISH':
      return r('PUBLISH sends event state (e.g. presence) to a state agent.', 'RFC 3903 §4');
    default:
      return r(`A ${method} request.`, 'RFC 3261 §7.1');
  }
}

// ---------------------------------------------------------------------------------------------------------
// SIP responses.

const RESPONSE_CLAUSES: Record<number, [string, string]> = {
  100: ['This hop received the request and stops its retransmissions; says nothing about the callee.', 'RFC 3261 §17.2.1, §21.1.1'],
  180: ['The callee\'s phone is ringing.', 'RFC 3261 §21.1.2'],
  181: ['The call is being forwarded.', 'RFC 3261 §21.1.3'],
  182: ['The call is queued.', 'RFC 3261 §21.1.4'],
  183: ['Session progress: the callee sends SDP before answering (early media, or preconditions in progress).', 'RFC 3261 §21.1.5; RFC 3312 §5'],
  202: ['Accepted: the request will be processed later.', 'RFC 6665 §8.3.1'],
  400: ['The request is malformed.', 'RFC 3261 §21.4.1'],
  403: ['Forbidden: the server understood but refuses (e.g. failed authentication or a barred identity).', 'RFC 3261 §21.4.4; TS 24.229 §5.4.1.2'],
  404: ['The user is not known here or has no registered contact.', 'RFC 3261 §21.4.5'],
  405: ['The method is not allowed for this target.', 'RFC 3261 §21.4.6'],
  407: ['A proxy asks for credentials (Proxy-Authenticate).', 'RFC 3261 §22.3'],
  408: ['No final response arrived in time.', 'RFC 3261 §21.4.9'],
  420: ['The request required an extension this element does not support.', 'RFC 3261 §21.4.15'],
  421: ['The element needs an extension the request did not list in Supported.', 'RFC 3261 §21.4.16'],
  423: ['The requested registration interval is too short; Min-Expires gives the minimum.', 'RFC 3261 §21.4.17'],
  480: ['The callee is currently unavailable (e.g. not registered).', 'RFC 3261 §21.4.18'],
  481: ['No dialog or transaction matches this request.', 'RFC 3261 §21.4.19'],
  482: ['A loop was detected.', 'RFC 3261 §21.4.20'],
  483: ['Max-Forwards reached zero: too many hops.', 'RFC 3261 §21.4.21'],
  486: ['The callee is busy.', 'RFC 3261 §21.4.24'],
  487: ['The INVITE was cancelled before it was answered.', 'RFC 3261 §21.4.25'],
  488: ['The callee accepts none of the offered media.', 'RFC 3261 §21.4.26'],
  494: ['Security agreement required: the UE must negotiate a mechanism (Security-Server) first.', 'RFC 3329 §2.3.1'],
  500: ['The server failed to process the request.', 'RFC 3261 §21.5.1'],
  501: ['The server does not implement this method.', 'RFC 3261 §21.5.2'],
  503: ['Service unavailable, e.g. the HSS could not be reached.', 'RFC 3261 §21.5.4'],
  504: ['A server further on (or the HSS) did not answer in time.', 'RFC 3261 §21.5.5'],
  580: ['Preconditions could not be met.', 'RFC 3312 §8'],
  600: ['The callee is busy everywhere.', 'RFC 3261 §21.6.1'],
  603: ['The callee declined the call.', 'RFC 3261 §21.6.2'],
};

function explainSipResponse(p: SipPeek, hop: Hop): Explanation {
  const status = p.status!;
  const summary = `${status} ${p.reasonPhrase ?? ''}`.trim();
  const label = String(status);
  const method = cseqMethod(p) ?? '';
  const r = (reason: string, clause: string): Explanation => ({ summary, label, reason, clause });

  if (status === 401) {
    const challenge = sipHeader(p, 'WWW-Authenticate');
    if (isAka(challenge)) {
      if (hop.from === 'pcscf')
        return r('The P-CSCF passes the AKA challenge to the UE after removing ck and ik, which it keeps to set up the IPsec SAs.', 'TS 24.229 §5.2.2; TS 33.203 §7.1');
      if (hop.from === 'scscf')
        return r('The S-CSCF challenges the UE with the vector from the HSS: nonce = base64(RAND ‖ AUTN); AUTN lets the USIM authenticate the network.', 'TS 24.229 §5.4.1.2.1; TS 33.203 §6.1; RFC 3310 §3.1');
      return r('The AKA challenge travels back along the Via path toward the UE.', 'TS 24.229 §5.4.1.2.1; RFC 3310 §3.1');
    }
    return r('The registrar challenges with SIP digest: the UE must answer with a hash of its password and this nonce.', 'RFC 3261 §22.4; RFC 2617 §3.2.1');
  }
  if (status >= 200 && status < 300) {
    switch (method) {
      case 'REGISTER':
        if (isDeregistration(p) || !(p.headers.get('contact') ?? []).length)
          return r('The registrar confirms: the contact is removed and the user is deregistered.', 'RFC 3261 §10.3; TS 24.229 §5.4.1.4');
        return r(
          'Registered: the 200 OK lists the bindings, Service-Route (the route for the UE\'s own requests) and P-Associated-URI (its other public identities).',
          'TS 24.229 §5.4.1.2.2; RFC 3608 §6',
        );
      case 'INVITE':
        return r('The callee answered: the 200 OK carries the SDP answer and the call is up once the caller ACKs.', 'RFC 3261 §13.3.1.4');
      case 'BYE':
        return r('The call is over: the BYE is confirmed.', 'RFC 3261 §15.1.2');
      case 'CANCEL':
        return r('The CANCEL was received; the INVITE itself ends with 487.', 'RFC 3261 §9.2');
      case 'SUBSCRIBE':
        return r('The subscription is accepted; a NOTIFY with the current state follows.', 'RFC 6665 §4.2.1');
      case 'NOTIFY':
        return r('The notification was received.', 'RFC 6665 §4.1.3');
      case 'MESSAGE':
        return r('The message was delivered (or accepted for delivery).', 'RFC 3428 §7');
      case 'PRACK':
        return r('The PRACK is confirmed; the reliable provisional response will not be retransmitted.', 'RFC 3262 §4');
      case 'UPDATE':
        return r('The UPDATE is accepted; the session parameters in its answer apply now.', 'RFC 3311 §5.2');
      default:
        return r(`${method || 'The request'} succeeded.`, 'RFC 3261 §21.2');
    }
  }
  const known = RESPONSE_CLAUSES[status];
  if (known) return r(known[0], known[1]);
  const klass = Math.floor(status / 100);
  const words: Record<number, [string, string]> = {
    1: ['A provisional response: the request is being processed.', 'RFC 3261 §21.1'],
    2: ['The request succeeded.', 'RFC 3261 §21.2'],
    3: ['The target has moved: try the Contact given.', 'RFC 3261 §21.3'],
    4: ['The request failed here; changing the request may help.', 'RFC 3261 §21.4'],
    5: ['The server failed.', 'RFC 3261 §21.5'],
    6: ['A global failure: the request will fail everywhere.', 'RFC 3261 §21.6'],
  };
  const [reason, clause] = words[klass] ?? ['An unusual status code.', 'RFC 3261 §7.2'];
  return r(reason, clause);
}

// ---------------------------------------------------------------------------------------------------------
// Diameter (RFC 6733 base, Cx/Dx per TS 29.228 and TS 29.229).

interface CommandWords {
  request: string;
  answer: string;
  why: string;
  clause: string;
}

const COMMANDS: Record<number, CommandWords> = {
  257: { request: 'CER', answer: 'CEA', why: 'Capabilities exchange: the peers tell each other who they are and which applications (Cx) they support.', clause: 'RFC 6733 §5.3' },
  280: { request: 'DWR', answer: 'DWA', why: 'Device watchdog: checks the idle connection is still alive.', clause: 'RFC 6733 §5.5; RFC 3539 §3.4' },
  282: { request: 'DPR', answer: 'DPA', why: 'The peer is closing the connection on purpose.', clause: 'RFC 6733 §5.4' },
  300: { request: 'UAR', answer: 'UAA', why: 'The I-CSCF asks the HSS whether this user may register here and which S-CSCF serves it.', clause: 'TS 29.228 §6.1.1' },
  301: { request: 'SAR', answer: 'SAA', why: 'The S-CSCF tells the HSS it serves (or no longer serves) the user and gets the user profile.', clause: 'TS 29.228 §6.1.2' },
  302: { request: 'LIR', answer: 'LIA', why: 'The I-CSCF asks the HSS which S-CSCF serves the called user.', clause: 'TS 29.228 §6.1.4' },
  303: { request: 'MAR', answer: 'MAA', why: 'The S-CSCF asks the HSS for an authentication vector.', clause: 'TS 29.228 §6.3' },
  304: { request: 'RTR', answer: 'RTA', why: 'The HSS deregisters the user at the S-CSCF (network-initiated deregistration).', clause: 'TS 29.228 §6.1.3' },
  305: { request: 'PPR', answer: 'PPA', why: 'The HSS pushes a changed user profile to the S-CSCF.', clause: 'TS 29.228 §6.2.2' },
};

/** TS 29.229 §6.2.1/§6.2.2 experimental results, and what they tell the asking node. */
const EXPERIMENTAL: Record<number, [string, string]> = {
  2001: ['FIRST_REGISTRATION', 'no S-CSCF is assigned yet, so the HSS returns capabilities and the I-CSCF picks an S-CSCF.'],
  2002: ['SUBSEQUENT_REGISTRATION', 'an S-CSCF is already assigned; its name comes back in Server-Name.'],
  2003: ['UNREGISTERED_SERVICE', 'the user is not registered but has services for the unregistered state; an S-CSCF serves them.'],
  2004: ['SUCCESS_SERVER_NAME_NOT_STORED', 'the deregistration is accepted and the S-CSCF name is not kept.'],
  5001: ['ERROR_USER_UNKNOWN', 'the HSS knows no such user.'],
  5002: ['ERROR_IDENTITIES_DONT_MATCH', 'the IMPI and IMPU do not belong to the same subscription.'],
  5003: ['ERROR_IDENTITY_NOT_REGISTERED', 'the identity is not registered and has no unregistered services.'],
  5004: ['ERROR_ROAMING_NOT_ALLOWED', 'the user may not register from this visited network.'],
  5005: ['ERROR_IDENTITY_ALREADY_REGISTERED', 'the identity is already registered at another S-CSCF.'],
  5006: ['ERROR_AUTH_SCHEME_NOT_SUPPORTED', 'the requested authentication scheme is not allowed for this user.'],
  5007: ['ERROR_IN_ASSIGNMENT_TYPE', 'the S-CSCF asked for an assignment that does not fit the current state.'],
  5008: ['ERROR_TOO_MUCH_DATA', 'the user profile is too large for the S-CSCF.'],
  5009: ['ERROR_NOT_SUPPORTED_USER_DATA', 'the S-CSCF cannot use this profile.'],
  5011: ['ERROR_FEATURE_UNSUPPORTED', 'a required feature is not supported.'],
};

const BASE_RESULTS: Record<number, string> = {
  2001: 'SUCCESS',
  3001: 'COMMAND_UNSUPPORTED',
  3002: 'UNABLE_TO_DELIVER',
  3003: 'REALM_NOT_SERVED',
  3004: 'TOO_BUSY',
  3007: 'APPLICATION_UNSUPPORTED',
  3010: 'UNKNOWN_PEER',
  4001: 'AUTHENTICATION_REJECTED',
  5001: 'AVP_UNSUPPORTED',
  5003: 'AUTHORIZATION_REJECTED',
  5004: 'INVALID_AVP_VALUE',
  5005: 'MISSING_AVP',
  5010: 'NO_COMMON_APPLICATION',
  5012: 'UNABLE_TO_COMPLY',
};

const SERVER_ASSIGNMENT: Record<number, string> = {
  0: 'NO_ASSIGNMENT',
  1: 'REGISTRATION',
  2: 'RE_REGISTRATION',
  3: 'UNREGISTERED_USER',
  4: 'TIMEOUT_DEREGISTRATION',
  5: 'USER_DEREGISTRATION',
  6: 'TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME',
  7: 'USER_DEREGISTRATION_STORE_SERVER_NAME',
  8: 'ADMINISTRATIVE_DEREGISTRATION',
  9: 'AUTHENTICATION_FAILURE',
  10: 'AUTHENTICATION_TIMEOUT',
};

/** Who sends the answer: the HSS for Cx requests from the CSCFs, the S-CSCF for the HSS's own RTR/PPR. */
function answerer(command: number): string {
  return command === 304 || command === 305 ? 'The S-CSCF' : command >= 300 ? 'The HSS' : 'The peer';
}

function explainDiameter(d: DiameterPeek): Explanation {
  const cmd = COMMANDS[d.commandCode];
  if (!cmd) {
    const label = `cmd ${d.commandCode}${d.request ? ' R' : ' A'}`;
    return { summary: label, label, reason: `A Diameter ${d.request ? 'request' : 'answer'} of command ${d.commandCode} (application ${d.applicationId}).`, clause: 'RFC 6733 §3' };
  }
  if (d.request) {
    let reason = cmd.why;
    let summary = cmd.request;
    if (d.commandCode === 301 && d.serverAssignmentType !== undefined) {
      const t = SERVER_ASSIGNMENT[d.serverAssignmentType] ?? String(d.serverAssignmentType);
      summary += ` ${t}`;
      reason =
        d.serverAssignmentType === 1 || d.serverAssignmentType === 2
          ? 'The S-CSCF tells the HSS it now serves the user (its name is stored) and downloads the user profile with the initial filter criteria.'
          : d.serverAssignmentType === 0
            ? 'The S-CSCF asks only for the user profile, without changing the assignment.'
            : `The S-CSCF tells the HSS the registration ended (${t}).`;
    }
    if (d.commandCode === 300 && d.userAuthorizationType === 1) {
      summary += ' DE_REGISTRATION';
      reason = 'The I-CSCF asks the HSS which S-CSCF holds the registration that is being removed.';
    }
    return { summary, label: cmd.request, reason, clause: cmd.clause };
  }
  const exp = d.experimentalResultCode;
  if (exp !== undefined) {
    const [name, meaning] = EXPERIMENTAL[exp] ?? [`experimental ${exp}`, 'see TS 29.229 §6.2.'];
    return {
      summary: `${cmd.answer} ${exp} ${name}`,
      label: cmd.answer,
      reason: `${answerer(d.commandCode)} answers the ${cmd.request} — ${meaning}`,
      clause: `${cmd.clause}; TS 29.229 §6.2`,
    };
  }
  const rc = d.resultCode;
  const rcName = rc === undefined ? 'no Result-Code' : (BASE_RESULTS[rc] ?? 'result');
  const ok = rc !== undefined && rc >= 2000 && rc < 3000;
  const answered: Record<number, string> = {
    300: 'The HSS authorises the registration.',
    301: 'The HSS stored the S-CSCF assignment and returns the user profile (User-Data with the iFC).',
    302: d.serverName ? `The HSS names the S-CSCF serving the callee: ${d.serverName}.` : 'The HSS tells the I-CSCF how to reach the callee\'s S-CSCF.',
    303: 'The HSS returns the authentication vector: RAND, AUTN, XRES, CK and IK (Milenage, TS 35.206).',
    304: 'The S-CSCF confirms it removed the registration.',
    305: 'The S-CSCF accepted the new profile.',
  };
  const reason = ok
    ? (answered[d.commandCode] ?? `${cmd.answer}: ${cmd.why.replace(/\.$/, '')} — done.`)
    : `The ${cmd.request} failed: ${rc === undefined ? 'the answer has no Result-Code' : `${rc} ${rcName}`}.`;
  return {
    summary: rc === undefined ? cmd.answer : `${cmd.answer} ${rc}`,
    label: cmd.answer,
    reason,
    clause: ok ? cmd.clause : `${cmd.clause}; RFC 6733 §7.1`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Media.

/** Static payload types of RFC 3551 §6 that a lab meets. */
const STATIC_PT: Record<number, string> = { 0: 'PCMU', 3: 'GSM', 4: 'G723', 8: 'PCMA', 9: 'G722', 18: 'G729' };

export function rtpHeader(b: Buffer): { pt: number; seq: number; ts: number; ssrc: number; marker: boolean } | undefined {
  if (b.length < 12 || b[0]! >> 6 !== 2) return undefined;
  return { pt: b[1]! & 0x7f, marker: (b[1]! & 0x80) !== 0, seq: b.readUInt16BE(2), ts: b.readUInt32BE(4), ssrc: b.readUInt32BE(8) };
}

function explainRtp(b: Buffer): Explanation {
  const h = rtpHeader(b);
  if (!h) return { summary: `RTP? (${b.length} bytes)`, label: 'RTP?', reason: 'Not an RTP version 2 packet.', clause: 'RFC 3550 §5.1' };
  const codec = STATIC_PT[h.pt] ?? `PT ${h.pt}`;
  return {
    summary: `RTP ${codec} seq ${h.seq} ssrc ${h.ssrc.toString(16).padStart(8, '0')}`,
    label: 'RTP',
    reason: `Media: ${b.length - 12} bytes of ${codec} audio; the sequence number reveals loss and the timestamp drives playout and jitter.`,
    clause: 'RFC 3550 §5.1; RFC 3551 §4.5',
  };
}

function explainRtcp(b: Buffer): Explanation {
  const pt = b.length >= 2 ? b[1]! : 0;
  const names: Record<number, [string, string]> = {
    200: ['SR', 'Sender report: what this side sent, and how it receives the other side (loss, jitter).'],
    201: ['RR', 'Receiver report: loss and jitter of the stream this side receives.'],
    202: ['SDES', 'Source description: the CNAME that ties streams to one participant.'],
    203: ['BYE', 'The source leaves the session.'],
  };
  const [n, why] = names[pt] ?? [`PT ${pt}`, 'An RTCP packet.'];
  return { summary: `RTCP ${n}`, label: 'RTCP', reason: why, clause: 'RFC 3550 §6.4' };
}
