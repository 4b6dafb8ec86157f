/**
 * name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1), the shape of From, To, Contact,
 * Route, Record-Route, Path (RFC 3327), Service-Route (RFC 3608), P-Asserted-Identity, P-Preferred-Identity
 * (RFC 3325), P-Associated-URI (RFC 3455) and Refer-To (RFC 3515).
 *
 * §20.10: when the URI is not in <>, every parameter after it belongs to the header, not to the URI; and a
 * URI containing a comma, question mark or semicolon must be in <> (RFC 4475 §3.1.2.13).
 */
import type { SipMessage } from '../message.js';
import { SipParseError } from '../parser.js';
import { endOfQuoted, formatParams, isTokenChar, isToken, parseParams, quote, skipWs, unquote, type Params } from './lexical.js';

export interface NameAddr {
  /** The display name, unquoted (quoted-pairs expanded); absent when there is none. */
  displayName?: string;
  /** The URI text as written (parse it with parseUri). */
  uri: string;
  /** Header parameters, names lowercased, values as written (quoted strings keep their quotes). */
  params: Params;
  /** The tag parameter (§19.3), when present. */
  tag?: string;
}

export function parseNameAddr(value: string): NameAddr {
  const s = value;
  let i = skipWs(s, 0);
  let displayName: string | undefined;
  let uri: string;
  if (s.charCodeAt(i) === 34) {
    const e = endOfQuoted(s, i);
    if (e < 0) throw new SipParseError('Unterminated quoted display name');
    displayName = unquote(s.slice(i, e));
    i = skipWs(s, e);
    if (s.charCodeAt(i) !== 60) throw new SipParseError('Quoted display name not followed by <URI>');
  }
  const lt = s.charCodeAt(i) === 60 ? i : displayName === undefined ? findAngle(s, i) : -1;
  if (lt >= 0) {
    if (displayName === undefined && lt > i) {
      // display-name = *(token LWS) / quoted-string (§25.1); anything else needs quotes (RFC 4475 §3.1.2.15).
      const dn = s.slice(i, lt).trim();
      for (let k = 0; k < dn.length; k++) {
        const c = dn.charCodeAt(k);
        if (!isTokenChar(c) && c !== 32 && c !== 9 && c < 128) throw new SipParseError(`Display name "${dn.slice(0, 30)}" needs quotes`);
      }
      displayName = dn;
    }
    const gt = s.indexOf('>', lt + 1);
    if (gt < 0) throw new SipParseError('Missing ">" after URI');
    uri = s.slice(lt + 1, gt);
    // No LWS inside <> (RFC 4475 §3.1.2.14).
    for (let k = 0; k < uri.length; k++) {
      const c = uri.charCodeAt(k);
      if (c === 32 || c === 9) throw new SipParseError('Whitespace inside <URI>');
    }
    if (uri.length === 0) throw new SipParseError('Empty <URI>');
    i = gt + 1;
  } else {
    const semi = s.indexOf(';', i);
    uri = s.slice(i, semi >= 0 ? semi : s.length).trim();
    if (uri.length === 0) throw new SipParseError('Missing URI');
    for (let k = 0; k < uri.length; k++) {
      const c = uri.charCodeAt(k);
      if (c === 32 || c === 9) throw new SipParseError('Whitespace inside URI');
      if (c === 44 || c === 63) throw new SipParseError('A URI with "," or "?" must be enclosed in <> (§20.10)');
      // ">" is no URI character (§25.1, RFC 3986 §2); a stray one would turn "<uri>" into "<uri>>" when formatted.
      if (c === 62) throw new SipParseError('">" without "<" in an addr-spec');
    }
    i = semi >= 0 ? semi : s.length;
  }
  const params = parseParams(s, i, 'name-addr');
  const n: NameAddr = { uri, params };
  if (displayName !== undefined) n.displayName = displayName;
  const tag = params.get('tag');
  if (tag !== undefined) {
    if (tag === null) throw new SipParseError('tag parameter without a value');
    n.tag = tag;
  }
  return n;
}

/** Index of a top-level `<` that follows a token display name, or -1 for an addr-spec. */
function findAngle(s: string, i: number): number {
  for (let k = i; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 60) return k;
    if (c === 59 || c === 34) return -1;
  }
  return -1;
}

/** Always writes the name-addr form (<URI>), which is valid wherever addr-spec is. */
export function formatNameAddr(n: NameAddr): string {
  let out = '';
  if (n.displayName !== undefined && n.displayName !== '') {
    out += isToken(n.displayName.replace(/ /g, '')) && !/^ | $/.test(n.displayName) ? n.displayName : quote(n.displayName);
    out += ' ';
  }
  out += `<${n.uri}>`;
  const params: Params = new Map(n.params);
  if (n.tag !== undefined) params.set('tag', n.tag);
  return out + formatParams(params);
}

/** Every element of a name-addr list header (Route, Path, P-Associated-URI, …), top first. */
export function parseNameAddrList(m: SipMessage, header: string): NameAddr[] {
  return m.headers.list(header).map(parseNameAddr);
}

/** The tag of From (§8.1.1.3); undefined when absent. Throws SipParseError when From is missing or malformed. */
export function fromTag(m: SipMessage): string | undefined {
  const v = m.headers.get('From');
  if (v === undefined) throw new SipParseError('Missing From');
  return parseNameAddr(v).tag;
}

/** The tag of To (§8.2.6.2); undefined before the UAS added one. */
export function toTag(m: SipMessage): string | undefined {
  const v = m.headers.get('To');
  if (v === undefined) throw new SipParseError('Missing To');
  return parseNameAddr(v).tag;
}
