/**
 * Authorization / Proxy-Authorization credentials and WWW-Authenticate / Proxy-Authenticate challenges
 * (RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1; RFC 2617 §3.2; RFC 3310 §3.2-3.4 for AKA: auts;
 * TS 24.229 §5.4.1.2.1 / TS 33.203 for ck/ik towards the P-CSCF; integrity-protected from TS 24.229 §7.2A.1).
 *
 * These headers are not lists: a comma separates auth-params, so values are split here, never by Headers.list.
 */
import { SipParseError } from '../parser.js';
import { endOfQuoted, isTokenChar, quote, skipWs, unquote } from './lexical.js';

export interface Credentials {
  scheme: string;
  /** Every auth-param, names lowercased, values unquoted. */
  params: Map<string, string>;
  username?: string;
  realm?: string;
  nonce?: string;
  uri?: string;
  response?: string;
  algorithm?: string;
  cnonce?: string;
  opaque?: string;
  qop?: string;
  nc?: string;
  auts?: string;
}

export interface Challenge {
  scheme: string;
  params: Map<string, string>;
  realm?: string;
  domain?: string;
  nonce?: string;
  opaque?: string;
  stale?: boolean;
  algorithm?: string;
  /** qop-options, split ("auth,auth-int" → ['auth','auth-int']). */
  qop?: string[];
  ck?: string;
  ik?: string;
}

/** auth-params written as quoted-strings (§25.1 grammar); all others as tokens when they are tokens. */
const QUOTED = new Set(['username', 'realm', 'nonce', 'uri', 'response', 'cnonce', 'opaque', 'domain', 'auts', 'ck', 'ik', 'qop-options', 'nextnonce', 'rspauth']);
/** qop is quoted in a challenge (qop-options) but a token in credentials (message-qop). */
const CHALLENGE_QUOTED = new Set([...QUOTED, 'qop']);

function parseAuth(value: string, what: string): { scheme: string; params: Map<string, string> } {
  const s = value;
  let i = skipWs(s, 0);
  const s0 = i;
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  const scheme = s.slice(s0, i);
  if (!scheme) throw new SipParseError(`${what}: missing scheme`);
  const params = new Map<string, string>();
  i = skipWs(s, i);
  let first = true;
  while (i < s.length) {
    if (!first) {
      if (s.charCodeAt(i) !== 44) throw new SipParseError(`${what}: expected "," at "${s.slice(i, i + 20)}"`);
      i = skipWs(s, i + 1);
    }
    first = false;
    const n0 = i;
    while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
    const name = s.slice(n0, i).toLowerCase();
    if (!name) throw new SipParseError(`${what}: empty auth-param`);
    i = skipWs(s, i);
    if (s.charCodeAt(i) !== 61) throw new SipParseError(`${what}: auth-param ${name} without "="`);
    i = skipWs(s, i + 1);
    let v: string;
    if (s.charCodeAt(i) === 34) {
      const e = endOfQuoted(s, i);
      if (e < 0) throw new SipParseError(`${what}: unterminated quoted string in ${name}`);
      v = unquote(s.slice(i, e));
      i = e;
    } else {
      const v0 = i;
      while (i < s.length && (isTokenChar(s.charCodeAt(i)) || s.charCodeAt(i) === 47 || s.charCodeAt(i) === 58 || s.charCodeAt(i) === 61)) i++;
      v = s.slice(v0, i);
    }
    params.set(name, v);
    i = skipWs(s, i);
  }
  return { scheme, params };
}

function formatAuth(scheme: string, params: Map<string, string>, quoted: Set<string>): string {
  const parts: string[] = [];
  for (const [k, v] of params) {
    const bare = v.length > 0 && [...v].every((ch) => isTokenChar(ch.charCodeAt(0)));
    parts.push(`${k}=${quoted.has(k) || !bare ? quote(v) : v}`);
  }
  return parts.length ? `${scheme} ${parts.join(', ')}` : scheme;
}

const CRED_FIELDS = ['username', 'realm', 'nonce', 'uri', 'response', 'algorithm', 'cnonce', 'opaque', 'qop', 'nc', 'auts'] as const;

export function parseCredentials(value: string): Credentials {
  const { scheme, params } = parseAuth(value, 'Authorization');
  const c: Credentials = { scheme, params };
  for (const f of CRED_FIELDS) {
    const v = params.get(f);
    if (v !== undefined) c[f] = v;
  }
  if (c.nc !== undefined && !/^[0-9a-fA-F]{8}$/.test(c.nc)) throw new SipParseError(`Authorization: bad nc "${c.nc}"`);
  return c;
}

/** Typed fields override `params`; params keep their order, new fields are appended in RFC 3261 §22.4 order. */
export function formatCredentials(c: Credentials): string {
  const params = new Map(c.params);
  for (const f of CRED_FIELDS) if (c[f] !== undefined) params.set(f, c[f]!);
  return formatAuth(c.scheme, params, QUOTED);
}

export function parseChallenge(value: string): Challenge {
  const { scheme, params } = parseAuth(value, 'WWW-Authenticate');
  const c: Challenge = { scheme, params };
  for (const f of ['realm', 'domain', 'nonce', 'opaque', 'algorithm', 'ck', 'ik'] as const) {
    const v = params.get(f);
    if (v !== undefined) c[f] = v;
  }
  const stale = params.get('stale');
  if (stale !== undefined) c.stale = stale.toLowerCase() === 'true';
  const qop = params.get('qop');
  if (qop !== undefined) c.qop = qop.split(',').map((q) => q.trim()).filter(Boolean);
  return c;
}

export function formatChallenge(c: Challenge): string {
  const params = new Map(c.params);
  for (const f of ['realm', 'domain', 'nonce', 'opaque', 'algorithm', 'ck', 'ik'] as const) if (c[f] !== undefined) params.set(f, c[f]!);
  if (c.stale !== undefined) params.set('stale', c.stale ? 'TRUE' : 'FALSE');
  if (c.qop !== undefined) params.set('qop', c.qop.join(','));
  return formatAuth(c.scheme, params, CHALLENGE_QUOTED);
}
