/**
 * Authorization / Proxy-Authorization credentials and WWW-Authenticate / Proxy-Authenticate challenges
 * (RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1; RFC 2617 §3.2; RFC 3310 §3.2-3.4 for AKA: auts;
 * TS 24.229 §5.4.1.2.1 / TS 33.203 for ck/ik towards the P-CSCF; integrity-protected from TS 24.229 §7.2A.1).
 *
 * These headers are not lists: a comma separates auth-params, so values are split here, never by Headers.list.
 */
import { SipParseError } from '../parser.js';
import { endOfQuoted, isToken, isTokenChar, quote, skipWs, unquote } from './lexical.js';

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
      // The content is cut straight out unless it holds a quoted-pair (one string, not two, per value).
      const escape = s.indexOf('\\', i + 1);
      v = escape >= 0 && escape < e ? unquote(s.slice(i, e)) : s.slice(i + 1, e - 1);
      i = e;
    } else {
      const v0 = i;
      while (i < s.length && isTokenValueChar(s.charCodeAt(i))) i++;
      v = s.slice(v0, i);
    }
    params.set(name, v);
    i = skipWs(s, i);
  }
  return { scheme, params };
}

/** What an unquoted auth-param value may hold: token characters, and "/", ":" and "=" (base64, URIs) leniently. */
function isTokenValueChar(c: number): boolean {
  return isTokenChar(c) || c === 47 || c === 58 || c === 61;
}

/**
 * `scheme name=value, …` in the order of `params`. What `override` gives for a name is written instead of the
 * param's own value; names of `append` not among the params are added after them when `override` gives them a
 * value, in that order; names in `omit` are left out. Written into one string as it goes: no copy of the Map,
 * no array of parts.
 */
function formatAuth(
  scheme: string,
  params: ReadonlyMap<string, string>,
  quoted: ReadonlySet<string>,
  override?: (name: string) => string | undefined,
  append?: readonly string[],
  omit?: ReadonlySet<string>,
): string {
  let out = scheme;
  let sep = ' ';
  for (const [k, v] of params) {
    if (omit?.has(k)) continue;
    out += sep + authParam(k, (override && override(k)) ?? v, quoted);
    sep = ', ';
  }
  if (append && override) {
    for (const k of append) {
      if (omit?.has(k) || params.has(k)) continue;
      const v = override(k);
      if (v === undefined) continue;
      out += sep + authParam(k, v, quoted);
      sep = ', ';
    }
  }
  return out;
}

/** auth-param (§25.1): quoted where the grammar says so, or where the value is not a token. */
function authParam(name: string, value: string, quoted: ReadonlySet<string>): string {
  if (!quoted.has(name) && isToken(value)) return `${name}=${value}`;
  // Nothing to escape (the usual case): the quotes around it, not a copy made one character at a time.
  return value.indexOf('"') < 0 && value.indexOf('\\') < 0 ? `${name}="${value}"` : `${name}=${quote(value)}`;
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

const CRED_FIELD_SET: ReadonlySet<string> = new Set(CRED_FIELDS);

/**
 * Typed fields override `params`; params keep their order, new fields are appended in RFC 3261 §22.4 order.
 * `omit` names auth-params left out (the P-CSCF's integrity-protected, TS 24.229 §5.2.2.1), without a copy of
 * `c` to delete them from.
 */
export function formatCredentials(c: Credentials, omit?: ReadonlySet<string>): string {
  const field = (name: string): string | undefined => (CRED_FIELD_SET.has(name) ? c[name as (typeof CRED_FIELDS)[number]] : undefined);
  return formatAuth(c.scheme, c.params, QUOTED, field, CRED_FIELDS, omit);
}

const CHALLENGE_FIELDS = ['realm', 'domain', 'nonce', 'opaque', 'algorithm', 'ck', 'ik'] as const;
/** The order typed fields absent from `params` are appended in. */
const CHALLENGE_APPEND = [...CHALLENGE_FIELDS, 'stale', 'qop'] as const;
const CHALLENGE_FIELD_SET: ReadonlySet<string> = new Set(CHALLENGE_FIELDS);

export function parseChallenge(value: string): Challenge {
  const { scheme, params } = parseAuth(value, 'WWW-Authenticate');
  const c: Challenge = { scheme, params };
  for (const f of CHALLENGE_FIELDS) {
    const v = params.get(f);
    if (v !== undefined) c[f] = v;
  }
  const stale = params.get('stale');
  if (stale !== undefined) c.stale = stale.toLowerCase() === 'true';
  const qop = params.get('qop');
  if (qop !== undefined) c.qop = qop.split(',').map((q) => q.trim()).filter(Boolean);
  return c;
}

/**
 * Typed fields override `params` (stale as TRUE/FALSE, qop joined); params keep their order, new fields are
 * appended. `omit` names auth-params left out (ck and ik, which the P-CSCF keeps, TS 33.203 §7.1).
 */
export function formatChallenge(c: Challenge, omit?: ReadonlySet<string>): string {
  const field = (name: string): string | undefined => {
    if (CHALLENGE_FIELD_SET.has(name)) return c[name as (typeof CHALLENGE_FIELDS)[number]];
    if (name === 'stale') return c.stale === undefined ? undefined : c.stale ? 'TRUE' : 'FALSE';
    if (name === 'qop') return c.qop?.join(',');
    return undefined;
  };
  return formatAuth(c.scheme, c.params, CHALLENGE_QUOTED, field, CHALLENGE_APPEND, omit);
}
