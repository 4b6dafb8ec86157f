/**
 * SIP, SIPS (RFC 3261 §19.1) and tel (RFC 3966) URIs: parse, format, compare (§19.1.4).
 *
 * Escapes (%HH) are decoded once in the components whose grammar has `escaped` (user, password, uri-parameters,
 * headers) and never recursively (RFC 3986 §2.4, RFC 4475 §3.1.1.3); formatting escapes again whatever the
 * component's grammar does not allow unescaped.
 */
import { SipParseError } from './parser.js';

export interface SipUri {
  scheme: 'sip' | 'sips';
  user?: string;
  password?: string;
  /** Hostname, IPv4 address, or IPv6 reference with its brackets (`[::1]`). */
  host: string;
  port?: number;
  /** uri-parameters, names lowercased, values unescaped; a parameter without value maps to null. */
  params: Map<string, string | null>;
  /** headers (`?name=value&…`), unescaped. */
  headers: Map<string, string>;
}

export interface TelUri {
  scheme: 'tel';
  /** global-number (`+…`) or local-number, visual separators kept as written. */
  number: string;
  params: Map<string, string | null>;
}

/** A URI of a scheme imslab does not interpret (an element answers 416 to it as a Request-URI, §8.2.2.1). */
export interface OtherUri {
  scheme: string;
  raw: string;
}

export type Uri = SipUri | TelUri | OtherUri;

export const isSipUri = (u: Uri): u is SipUri => u.scheme === 'sip' || u.scheme === 'sips';
export const isTelUri = (u: Uri): u is TelUri => u.scheme === 'tel';

// Character classes of §25.1, as bit sets over ASCII.
const ALNUM = 1;
const MARK = 2; // - _ . ! ~ * ' ( )
const USER_UNRESERVED = 4; // & = + $ , ; ? /
const PASSWORD_EXTRA = 8; // & = + $ ,
const PARAM_UNRESERVED = 16; // [ ] / : & + $
const HNV_UNRESERVED = 32; // [ ] / ? : + $
const CLS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CLS[c]! |= ALNUM;
for (let c = 65; c <= 90; c++) CLS[c]! |= ALNUM;
for (let c = 97; c <= 122; c++) CLS[c]! |= ALNUM;
const mark = (chars: string, bit: number) => {
  for (const ch of chars) CLS[ch.charCodeAt(0)]! |= bit;
};
mark("-_.!~*'()", MARK);
mark('&=+$,;?/', USER_UNRESERVED);
mark('&=+$,', PASSWORD_EXTRA);
mark('[]/:&+$', PARAM_UNRESERVED);
mark('[]/?:+$', HNV_UNRESERVED);

const UNRESERVED = ALNUM | MARK;

function decode(s: string, what: string, allowed: number): string {
  const hasPct = s.indexOf('%') >= 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) throw new SipParseError(`Bad escape in URI ${what}`);
      i += 2;
    } else if (c >= 128 || !(CLS[c]! & allowed)) {
      throw new SipParseError(`Character "${s[i]}" not allowed in URI ${what}`);
    }
  }
  if (!hasPct) return s;
  // decodeURIComponent would reject escaped octets that are not UTF-8 (%00 is fine, %FF is not); decode bytes.
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c);
  }
  const buf = Buffer.from(bytes);
  try {
    return UTF8.decode(buf);
  } catch {
    return buf.toString('latin1');
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function encode(s: string, allowed: number): string {
  let simple = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || !(CLS[c]! & allowed)) {
      simple = false;
      break;
    }
  }
  if (simple) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b < 128 && CLS[b]! & allowed) out += String.fromCharCode(b);
    else out += '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** Parses a URI. SIP/SIPS and tel are taken apart; other schemes come back as OtherUri. */
export function parseUri(text: string): Uri {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new SipParseError(`Not a URI: "${text.slice(0, 40)}"`);
  const scheme = text.slice(0, colon).toLowerCase();
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (§25.1)
  for (let i = 0; i < colon; i++) {
    const c = text.charCodeAt(i);
    const ok = (CLS[c]! & ALNUM) !== 0 || (i > 0 && (c === 43 || c === 45 || c === 46));
    if (!ok || (i === 0 && c >= 48 && c <= 57)) throw new SipParseError(`Bad URI scheme "${text.slice(0, colon)}"`);
  }
  for (let i = colon + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32 || c === 127) throw new SipParseError('Whitespace or control character inside a URI');
  }
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(scheme, text, colon + 1);
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  return { scheme, raw: text };
}

function parseSipUri(scheme: 'sip' | 'sips', text: string, from: number): SipUri {
  const uri: SipUri = { scheme, host: '', params: new Map(), headers: new Map() };
  // Only userinfo may end in '@': none of host, uri-parameters or headers allows an unescaped '@' (§25.1).
  const at = text.indexOf('@', from);
  let i = from;
  if (at >= 0) {
    const userinfo = text.slice(from, at);
    const pc = userinfo.indexOf(':');
    const user = pc >= 0 ? userinfo.slice(0, pc) : userinfo;
    if (user.length === 0) throw new SipParseError('Empty user part in SIP URI');
    uri.user = decode(user, 'user', UNRESERVED | USER_UNRESERVED);
    if (pc >= 0) uri.password = decode(userinfo.slice(pc + 1), 'password', UNRESERVED | PASSWORD_EXTRA);
    i = at + 1;
  }
  // hostport
  let hostEnd: number;
  if (text.charCodeAt(i) === 91 /* [ */) {
    const close = text.indexOf(']', i);
    if (close < 0) throw new SipParseError('Unterminated IPv6 reference in SIP URI');
    hostEnd = close + 1;
    const inner = text.slice(i + 1, close);
    if (inner.length < 2 || !/^[0-9A-Fa-f:.]+$/.test(inner) || inner.indexOf(':') < 0)
      throw new SipParseError(`Bad IPv6 reference "${inner.slice(0, 45)}"`);
  } else {
    hostEnd = i;
    while (hostEnd < text.length) {
      const c = text.charCodeAt(hostEnd);
      if ((CLS[c]! & ALNUM) !== 0 || c === 45 || c === 46) hostEnd++;
      else break;
    }
    if (hostEnd === i) throw new SipParseError('Missing host in SIP URI');
  }
  uri.host = text.slice(i, hostEnd);
  i = hostEnd;
  if (text.charCodeAt(i) === 58 /* : */) {
    let j = i + 1;
    while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
    const port = j > i + 1 && j - i - 1 <= 5 ? Number(text.slice(i + 1, j)) : NaN;
    if (!(port >= 0 && port <= 65535)) throw new SipParseError(`Bad port in SIP URI "${text.slice(i + 1, j + 1)}"`);
    uri.port = port;
    i = j;
  }
  const q = text.indexOf('?', i);
  const paramsEnd = q >= 0 ? q : text.length;
  if (i < paramsEnd) {
    if (text.charCodeAt(i) !== 59) throw new SipParseError(`Unexpected "${text.slice(i, i + 10)}" after SIP URI host`);
    for (const p of text.slice(i + 1, paramsEnd).split(';')) {
      if (p.length === 0) throw new SipParseError('Empty uri-parameter');
      const eq = p.indexOf('=');
      const name = decode(eq >= 0 ? p.slice(0, eq) : p, 'parameter', UNRESERVED | PARAM_UNRESERVED).toLowerCase();
      const value = eq >= 0 ? decode(p.slice(eq + 1), 'parameter', UNRESERVED | PARAM_UNRESERVED) : null;
      if (name.length === 0) throw new SipParseError('Empty uri-parameter name');
      uri.params.set(name, value);
    }
  }
  if (q >= 0) {
    for (const h of text.slice(q + 1).split('&')) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new SipParseError(`Bad URI header "${h.slice(0, 20)}"`);
      uri.headers.set(decode(h.slice(0, eq), 'header', UNRESERVED | HNV_UNRESERVED), decode(h.slice(eq + 1), 'header', UNRESERVED | HNV_UNRESERVED));
    }
  }
  return uri;
}

/** telephone-subscriber = global-number / local-number, then ;par (RFC 3966 §3). */
function parseTelUri(text: string, from: number): TelUri {
  const semi = text.indexOf(';', from);
  const number = text.slice(from, semi >= 0 ? semi : text.length);
  if (number.length === 0) throw new SipParseError('Empty tel URI');
  for (let i = 0; i < number.length; i++) {
    const c = number.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || isHex(c) || c === 42 || c === 35 || c === 45 || c === 46 || c === 40 || c === 41 || (i === 0 && c === 43);
    if (!ok) throw new SipParseError(`Bad tel URI number "${number.slice(0, 30)}"`);
  }
  const params = new Map<string, string | null>();
  if (semi >= 0) {
    for (const p of text.slice(semi + 1).split(';')) {
      if (p.length === 0) throw new SipParseError('Empty tel URI parameter');
      const eq = p.indexOf('=');
      params.set((eq >= 0 ? p.slice(0, eq) : p).toLowerCase(), eq >= 0 ? decode(p.slice(eq + 1), 'parameter', UNRESERVED | PARAM_UNRESERVED) : null);
    }
  }
  return { scheme: 'tel', number, params };
}

export function formatUri(u: Uri): string {
  if ('raw' in u) return u.raw;
  if (u.scheme === 'tel') {
    let out = 'tel:' + u.number;
    for (const [k, v] of u.params) out += v === null ? `;${k}` : `;${k}=${encode(v, UNRESERVED | PARAM_UNRESERVED)}`;
    return out;
  }
  let out = u.scheme + ':';
  if (u.user !== undefined) {
    out += encode(u.user, UNRESERVED | USER_UNRESERVED);
    if (u.password !== undefined) out += ':' + encode(u.password, UNRESERVED | PASSWORD_EXTRA);
    out += '@';
  }
  out += u.host;
  if (u.port !== undefined) out += ':' + u.port;
  for (const [k, v] of u.params) {
    out += ';' + encode(k, UNRESERVED | PARAM_UNRESERVED);
    if (v !== null) out += '=' + encode(v, UNRESERVED | PARAM_UNRESERVED);
  }
  let sep = '?';
  for (const [k, v] of u.headers) {
    out += sep + encode(k, UNRESERVED | HNV_UNRESERVED) + '=' + encode(v, UNRESERVED | HNV_UNRESERVED);
    sep = '&';
  }
  return out;
}

/**
 * URI equivalence (RFC 3261 §19.1.4): user and password case-sensitive after unescaping, host case-insensitive,
 * an explicit port never equals an absent one; uri-parameters present in both must match (case-insensitively),
 * user/ttl/method/maddr present in one only never match, other one-sided parameters are ignored; headers must
 * all be present in both and match. tel URIs (RFC 3966 §4): numbers without visual separators, parameters all.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.scheme !== b.scheme) return false;
  if ('raw' in a || 'raw' in b) return 'raw' in a && 'raw' in b && a.raw === b.raw;
  if (a.scheme === 'tel' || b.scheme === 'tel') {
    const ta = a as TelUri;
    const tb = b as TelUri;
    const strip = (n: string) => n.replace(/[-.()]/g, '').toLowerCase();
    if (strip(ta.number) !== strip(tb.number) || ta.params.size !== tb.params.size) return false;
    for (const [k, v] of ta.params) {
      if (!tb.params.has(k)) return false;
      if ((v ?? '').toLowerCase() !== (tb.params.get(k) ?? '').toLowerCase()) return false;
    }
    return true;
  }
  const sa = a as SipUri;
  const sb = b as SipUri;
  if (sa.user !== sb.user || sa.password !== sb.password) return false;
  if (sa.host.toLowerCase() !== sb.host.toLowerCase() || sa.port !== sb.port) return false;
  for (const [k, v] of sa.params) {
    if (sb.params.has(k)) {
      if ((v ?? '').toLowerCase() !== (sb.params.get(k) ?? '').toLowerCase()) return false;
    } else if (k === 'user' || k === 'ttl' || k === 'method' || k === 'maddr') return false;
  }
  for (const k of sb.params.keys()) {
    if (!sa.params.has(k) && (k === 'user' || k === 'ttl' || k === 'method' || k === 'maddr')) return false;
  }
  if (sa.headers.size !== sb.headers.size) return false;
  for (const [k, v] of sa.headers) {
    let found = false;
    for (const [k2, v2] of sb.headers) if (k2.toLowerCase() === k.toLowerCase() && v2 === v) found = true;
    if (!found) return false;
  }
  return true;
}
