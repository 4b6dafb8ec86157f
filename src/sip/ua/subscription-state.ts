/**
 * Subscription-State (RFC 6665 §8.2.3, §4.1.3): substate-value *( ";" subexp-params ), with expires,
 * reason and retry-after. Pure codec.
 */
import { parseParams, parseUint, UINT32_MAX } from '../headers/lexical.js';
import { SipParseError } from '../parser.js';

export type SubstateValue = 'active' | 'pending' | 'terminated';

/** RFC 6665 §4.1.3 event-reason-value. */
export type TerminationReason = 'deactivated' | 'probation' | 'rejected' | 'timeout' | 'giveup' | 'noresource' | 'invariant' | string;

export interface SubscriptionStateValue {
  state: SubstateValue | string;
  expires?: number;
  reason?: TerminationReason;
  retryAfter?: number;
}

export function parseSubscriptionState(value: string): SubscriptionStateValue {
  const v = value.trim();
  const semi = v.indexOf(';');
  const state = (semi >= 0 ? v.slice(0, semi) : v).trim().toLowerCase();
  if (!state) throw new SipParseError('Subscription-State without a substate');
  const params = parseParams(v, semi >= 0 ? semi : v.length, 'Subscription-State');
  const out: SubscriptionStateValue = { state };
  const num = (name: string): number | undefined => {
    const raw = params.get(name);
    if (raw == null) return undefined;
    const n = parseUint(raw, UINT32_MAX);
    if (n === undefined) throw new SipParseError(`Subscription-State ${name}="${raw}" is not a number`);
    return n;
  };
  const expires = num('expires');
  if (expires !== undefined) out.expires = expires;
  const retry = num('retry-after');
  if (retry !== undefined) out.retryAfter = retry;
  const reason = params.get('reason');
  if (reason != null) out.reason = reason.toLowerCase();
  return out;
}

export function formatSubscriptionState(s: SubscriptionStateValue): string {
  let out = s.state;
  if (s.reason !== undefined) out += `;reason=${s.reason}`;
  if (s.expires !== undefined) out += `;expires=${s.expires}`;
  if (s.retryAfter !== undefined) out += `;retry-after=${s.retryAfter}`;
  return out;
}

/** The event package of an Event header value (RFC 6665 §8.2.1), lowercased, and its id parameter. */
export function parseEvent(value: string): { package: string; id?: string } {
  const v = value.trim();
  const semi = v.indexOf(';');
  const pkg = (semi >= 0 ? v.slice(0, semi) : v).trim().toLowerCase();
  if (!pkg) throw new SipParseError('Event header without a package');
  const params = parseParams(v, semi >= 0 ? semi : v.length, 'Event');
  const id = params.get('id');
  return id != null ? { package: pkg, id } : { package: pkg };
}
