/**
 * Contact (RFC 3261 §20.10, §10.2.1; RFC 5626 §4.1 +sip.instance / reg-id; RFC 5627 GRUU):
 * Contact = ("*" / contact-param *(COMMA contact-param)), contact-param = (name-addr / addr-spec) *(SEMI contact-params).
 */
import type { Headers } from '../message.js';
import { SipParseError } from '../parser.js';
import { paramText, parseUint, UINT32_MAX } from './lexical.js';
import { parseNameAddr, type NameAddr } from './name-addr.js';

export interface ContactValue extends NameAddr {
  /** expires param in seconds; absent when missing or out of range (RFC 4475 §3.1.2.4: then the default applies). */
  expires?: number;
  /** q param, 0..1 (§20.10). */
  q?: number;
  /** +sip.instance, unquoted (`<urn:uuid:…>`). */
  instance?: string;
  /** reg-id (RFC 5626 §4.2). */
  regId?: number;
}

/** Every Contact of a message, or '*' (the wildcard of a REGISTER that removes all bindings, §10.2.2). */
export function parseContacts(h: Headers): ContactValue[] | '*' {
  const list = h.list('Contact');
  if (list.length === 1 && list[0] === '*') return '*';
  return list.map(parseContact);
}

export function parseContact(value: string): ContactValue {
  if (value.trim() === '*') throw new SipParseError('Contact "*" mixed with other contacts (§10.2.2)');
  const c: ContactValue = parseNameAddr(value);
  const expires = c.params.get('expires');
  if (expires != null) {
    const n = parseUint(expires, UINT32_MAX);
    if (n !== undefined) c.expires = n;
  }
  const q = c.params.get('q');
  if (q != null) {
    // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
    const n = Number(q);
    if (!/^[01](\.\d{0,3})?$/.test(q) || !(n >= 0 && n <= 1)) throw new SipParseError(`Bad Contact q value "${q}"`);
    c.q = n;
  }
  const instance = paramText(c.params, '+sip.instance');
  if (instance !== undefined) c.instance = instance;
  const regId = c.params.get('reg-id');
  if (regId != null) {
    const n = parseUint(regId, UINT32_MAX);
    if (n === undefined || n === 0) throw new SipParseError(`Bad reg-id "${regId}"`);
    c.regId = n;
  }
  return c;
}
