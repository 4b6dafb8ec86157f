/**
 * Which identity the P-CSCF asserts for a request from a registered UE (RFC 3325 §9.1, TS 24.229 §5.2.6.3.2 and
 * §5.2.6.3.5): the P-Preferred-Identity when it names a public identity of the registered set (P-Associated-URI),
 * else the default public identity (the first of the set). A preferred identity outside the set is not asserted:
 * the UE may only ask for what it registered. Pure: no I/O, no trace.
 */
import { parseNameAddr } from '../sip/headers/name-addr.js';
import type { Headers } from '../sip/message.js';
import { parseUri, uriEquals } from '../sip/uri.js';

export interface AssertedIdentityChoice {
  /** The URI to assert. */
  identity: string;
  /** What became of the UE's P-Preferred-Identity: none sent, honoured, or refused (outside the set / unreadable). */
  preferred: 'absent' | 'honoured' | 'refused';
  /** The preferred values as the UE wrote them, when refused (for the note). */
  refusedValues?: string[];
}

/**
 * Chooses the asserted identity. `registered` is the implicit set in P-Associated-URI order (the first is the
 * default public identity, TS 24.229 §5.2.2.1); `preferred` are the P-Preferred-Identity values of the request.
 * RFC 3325 §9.2 allows two values (one sip/sips, one tel): the first that is in the set wins.
 */
export function chooseAssertedIdentity(registered: readonly string[], preferred: readonly string[]): AssertedIdentityChoice {
  const fallback = registered[0];
  if (fallback === undefined) throw new Error('no registered public identity to assert');
  if (preferred.length === 0) return { identity: fallback, preferred: 'absent' };
  for (const value of preferred) {
    const uri = uriOf(value);
    if (uri === undefined) continue;
    const match = registered.find((r) => sameIdentity(r, uri));
    if (match !== undefined) return { identity: match, preferred: 'honoured' };
  }
  return { identity: fallback, preferred: 'refused', refusedValues: [...preferred] };
}

/**
 * Writes the assertion (RFC 3325 §9.1): every P-Asserted-Identity and P-Preferred-Identity the UE sent goes (the
 * UE is outside the trust domain, RFC 3325 §5), one P-Asserted-Identity with the chosen identity comes in.
 */
export function assertIdentity(headers: Headers, identity: string): void {
  headers.delete('P-Asserted-Identity');
  headers.delete('P-Preferred-Identity');
  headers.append('P-Asserted-Identity', `<${identity}>`);
}

/** Whether a URI is one of a set of public identities (compared as URIs, RFC 3261 §19.1.4). */
export function inIdentitySet(registered: readonly string[], uri: string): boolean {
  return registered.some((r) => sameIdentity(r, uri));
}

function uriOf(value: string): string | undefined {
  try {
    const uri = parseNameAddr(value).uri;
    parseUri(uri);
    return uri;
  } catch {
    return undefined;
  }
}

function sameIdentity(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  try {
    return uriEquals(parseUri(a), parseUri(b));
  } catch {
    return false;
  }
}
