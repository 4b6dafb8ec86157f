/**
 * What the P-CSCF's session handling (TS 24.229 §5.2.6) works with, and the two questions it asks of every
 * request's source: is it a registered UE (identified by address, port and transport as the REGISTER came, TS
 * 24.229 §5.2.6.3: the UE is known by what it registered from), or a node of the trust domain (RFC 3325 §2.3,
 * TS 24.229 §4.4: the CSCFs of this core — the topology's nodes, the I-CSCF REGISTER goes to, and every S-CSCF
 * a stored Service-Route names)?
 */
import type { SipRequest } from '../sip/message.js';
import { resolveUri, routeUri } from '../sip/proxy/routing.js';
import type { ProxyTarget, RespondDecision } from '../sip/proxy/types.js';
import type { ReceivedMessage, TransportAddress } from '../sip/transport/types.js';
import { parseUri, uriEquals } from '../sip/uri.js';
import type { Directory } from '../topology/directory.js';
import type { TraceBus } from '../trace/events.js';
import type { Random } from '../util/random.js';
import { refuse } from './refuse.js';
import { topVia } from '../sip/headers/via.js';
import { canonicalHost } from '../sip/transport/address.js';
import type { PcscfRegistration, RegistrationCache } from './registration-cache.js';

export interface SessionContext {
  node: string;
  trace: TraceBus;
  random: Random;
  /** This node's address: the warn-agent of Warning and icid-generated-at. */
  address: string;
  /** The type 1 orig-ioi of the P-Charging-Vector (TS 24.229 §7.2A.5.2.1): the network of this P-CSCF. */
  visitedNetworkId: string;
  cache: RegistrationCache;
  directory: Directory;
  /** Where REGISTER goes; a trusted peer. */
  icscf: TransportAddress | undefined;
  /** Whether a TCP/TLS connection the UE registered over is still open (requests toward it reuse it, RFC 5626 §5.3). */
  isConnectionOpen(connectionId: string): boolean;
}

/** Methods that create a dialog, so the P-CSCF must stay on its path (RFC 3261 §12, RFC 6665 §4.1, RFC 3515). */
export const DIALOG_FORMING: ReadonlySet<string> = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

/** Headers with the operator's charging correlation and addresses: never sent to a UE (TS 24.229 §5.2.6.4). */
export const NETWORK_ONLY: readonly string[] = ['P-Charging-Vector', 'P-Charging-Function-Addresses'];

/**
 * The registrations made from the request's source: same address, port and transport as the REGISTER.
 *
 * One exception, for the switch of RFC 3261 §18.1.1: a UE registered over UDP must send a request larger than
 * 1300 bytes over TCP, and that connection leaves from a port of the operating system's choosing. Such a request
 * is the UE's own when it comes from the registered address and its top Via gives the registered port as
 * sent-by (where the UE wants its responses), so the address and the port the UE stands behind still decide.
 */
export function registrationsFrom(ctx: SessionContext, received: ReceivedMessage): PcscfRegistration[] {
  const s = received.source;
  const exact = ctx.cache.byUe(s.address, s.port).filter((r) => r.ue.transport === s.transport);
  if (exact.length > 0 || s.transport === 'udp') return exact;
  let sentBy: { host: string; port: number };
  try {
    const via = topVia(received.message);
    sentBy = { host: canonicalHost(via.host), port: via.port ?? 5060 };
  } catch {
    return exact;
  }
  if (sentBy.host !== canonicalHost(s.address)) return exact;
  return ctx.cache.byUe(s.address, sentBy.port).filter((r) => r.ue.transport === 'udp');
}

/** Whether an address belongs to the trust domain (see the file comment). A UE of the topology never does. */
export function isTrustedPeer(ctx: SessionContext, address: string): boolean {
  const node = ctx.directory.byAddress(address);
  if (node) return node.kind !== 'ue';
  if (ctx.icscf?.address === address) return true;
  for (const r of ctx.cache.list()) {
    for (const v of r.serviceRoute) {
      try {
        if (resolveUri(routeUri(v), (h) => ctx.directory.resolveHost(h)?.address)?.address === address) return true;
      } catch {
        // An unreadable Service-Route value vouches for no one.
      }
    }
  }
  return false;
}

/**
 * Where a request toward a registered UE goes (TS 24.229 §5.2.6.4, RFC 5626 §5.3): over the TCP/TLS connection
 * it registered on while that is open (the UE's ephemeral port, reached through the connection), else to the
 * address the REGISTER came from over UDP, else to its contact.
 */
export function towardUe(ctx: SessionContext, reg: PcscfRegistration): TransportAddress | undefined {
  if (reg.ue.transport === 'udp') return { ...reg.ue };
  if (reg.connectionId !== undefined && ctx.isConnectionOpen(reg.connectionId)) return { ...reg.ue };
  return resolveUri(reg.contact, (h) => ctx.directory.resolveHost(h)?.address);
}

export function refusal(ctx: SessionContext, request: SipRequest, status: number, reason: string, clause: string, level: 'info' | 'warn' = 'info'): RespondDecision {
  return {
    action: 'respond',
    response: refuse({ node: ctx.node, trace: ctx.trace, warnAgent: ctx.address, toTag: ctx.random.token(10) }, request, status, reason, clause, level),
  };
}

export function note(ctx: SessionContext, text: string, clause: string, level: 'info' | 'warn' = 'info'): void {
  ctx.trace.note({ node: ctx.node, level, text, clause });
}

/** The registration whose contact is `uri` (as written, else compared as URIs, RFC 3261 §19.1.4). */
export function registrationOfContact(ctx: SessionContext, uri: string): PcscfRegistration | undefined {
  const exact = ctx.cache.get(uri);
  if (exact) return exact;
  let target;
  try {
    target = parseUri(uri);
  } catch {
    return undefined;
  }
  return ctx.cache.list().find((r) => {
    try {
      return uriEquals(parseUri(r.contact), target);
    } catch {
      return false;
    }
  });
}

/**
 * The target of a request inside a dialog (RFC 3261 §16.12 loose routing): along the Route set left after ours;
 * when none is left the Request-URI is the remote target, and a contact registered here is reached as the UE
 * registered (towardUe). Returns whether it goes to a UE, for the headers that stay in the network.
 */
export function dialogTarget(ctx: SessionContext, request: SipRequest): { target: ProxyTarget; toUe: PcscfRegistration | undefined } {
  if (request.headers.has('Route')) return { target: { uri: request.uri }, toUe: undefined };
  const reg = registrationOfContact(ctx, request.uri);
  const nextHop = reg ? towardUe(ctx, reg) : undefined;
  return { target: nextHop ? { uri: request.uri, nextHop } : { uri: request.uri }, toUe: nextHop ? reg : undefined };
}
