import type { SipRequest, SipResponse } from '../message.js';
import type { ReceivedMessage, TransportAddress } from '../transport/types.js';
import type { ServerTransaction } from '../transaction/types.js';

/** One destination of a request (RFC 3261 §16.5): the Request-URI of a branch and how to reach it. */
export interface ProxyTarget {
  /** The Request-URI of this branch (§16.6 step 2). */
  uri: string;
  /** Route values (each `<uri>`) put ahead of the request's Route set, first on top (a pre-loaded route, an AS). */
  route?: readonly string[];
  /** A next hop chosen by local policy (§16.6 step 7), instead of resolving the top Route or the Request-URI. */
  nextHop?: TransportAddress;
  /** Header edits for this branch only, applied after the decision's own `edit`. */
  edit?: (request: SipRequest) => void;
}

/** What a branch's response belongs to, for response hooks. */
export interface BranchInfo {
  index: number;
  target: ProxyTarget;
  /** Whether the response was made up by the transaction layer (timeout, transport error) rather than received. */
  synthetic: boolean;
}

export interface ForwardDecision {
  action: 'forward';
  /** Forked in parallel when there are several (§16.6). */
  targets: readonly ProxyTarget[];
  /**
   * §16.6 step 4: insert Record-Route. `true` writes this proxy's own URI (with `lr`, the transport, and a second
   * value per RFC 5658 when the request leaves over another transport); a string is written as given.
   */
  recordRoute?: boolean | string;
  /** Header edits for every branch (Path, P-headers …), §16.6 step 5. */
  edit?: (request: SipRequest) => void;
  /** Sees (and may edit) each response from a branch before the proxy acts on it (§16.7 step 9 rewrites). */
  onResponse?: (response: SipResponse, branch: BranchInfo) => void;
  /** Sees (and may edit) each response about to go upstream, after the best-response choice of §16.7 step 6. */
  onForward?: (response: SipResponse) => void;
}

export interface RespondDecision {
  action: 'respond';
  /** Sent on the server transaction as the answer (e.g. 401 challenge, 404, or a 200 from a registrar). */
  response: SipResponse;
}

/** An ACK or stray request that the router does not want forwarded. */
export interface DropDecision {
  action: 'drop';
}

export type ProxyDecision = ForwardDecision | RespondDecision | DropDecision;

/** What the router knows about the request besides its content. */
export interface RequestInfo {
  received: ReceivedMessage;
  /** The server transaction, except for an ACK for a 2xx, which is forwarded without one (§16.11 / §13.2.2.4). */
  transaction?: ServerTransaction;
  /** Whether route pre-processing (§16.4) removed a Route value naming this proxy. */
  routedToUs: boolean;
}

/** The function logic's part (§16.5): decide targets or answer. May be async (Diameter look-ups). */
export type Router = (request: SipRequest, info: RequestInfo) => ProxyDecision | Promise<ProxyDecision>;
