import type { SipRequest } from '../../sip/message.js';
import type { OwnUris } from '../../sip/proxy/routing.js';
import type { RespondDecision } from '../../sip/proxy/types.js';
import type { TransportAddress } from '../../sip/transport/types.js';
import type { Directory } from '../../topology/directory.js';
import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import { refusal } from '../respond.js';
import type { RegistrationStore, SubscriptionRegistration, ContactBinding } from './registration-store.js';
import type { OriginatingServices, TerminatingServices } from './services.js';

/** What the session routing of an S-CSCF (TS 24.229 §5.4.3) works with; the Scscf node fills it in at start. */
export interface SessionContext {
  node: string;
  /** The home network's domain: orig-ioi/term-ioi, and which Request-URIs belong to the home network. */
  domain: string;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  directory: Directory;
  store: RegistrationStore;
  /** `host:port` for Warning headers (RFC 3261 §20.43). */
  warnAgent: string;
  /** This node's addresses, ports and names as the proxy core recognises them in Route values. */
  own: OwnUris;
  /** Where the home network's I-CSCF listens; undefined when the topology has none. */
  icscf: TransportAddress | undefined;
  services: OriginatingServices & TerminatingServices;
}

/** Methods that create a dialog, so the S-CSCF must stay on its path (RFC 3261 §12, RFC 6665 §4.1, RFC 3515). */
export const DIALOG_FORMING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);

/** A refusal with its reason on the wire (Warning) and on the trace (a note with the clause). */
export function refuse(ctx: SessionContext, request: SipRequest, status: number, reason: string, clause: string): RespondDecision {
  const response = refusal(request, status, reason, {
    node: ctx.node,
    trace: ctx.trace,
    warnAgent: ctx.warnAgent,
    toTag: ctx.random.token(10),
    clause,
  });
  return { action: 'respond', response };
}

export function note(ctx: SessionContext, text: string, clause: string): void {
  ctx.trace.note({ node: ctx.node, level: 'info', text, clause });
}

/** The contacts of a registration that have not expired on the node's clock. */
export function liveContacts(ctx: SessionContext, registration: SubscriptionRegistration): ContactBinding[] {
  const now = ctx.clock.now();
  return registration.contacts.filter((c) => c.expiresAt > now);
}
