/**
 * Lexical rules of RFC 3261 §25.1 shared by the header views: token characters, quoted strings, LWS and
 * generic parameters (`*( SEMI generic-param )`). Table lookups and index scans only: no regular expressions
 * on the hot path.
 */
import { SipParseError } from '../parser.js';

const TOKEN = new Uint8Array(128);
for (let c = 48; c <= 57; c++) TOKEN[c] = 1;
for (let c = 65; c <= 90; c++) TOKEN[c] = 1;
for (let c = 97; c <= 122; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") (§25.1). */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

export function isWsp(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}

export function skipWs(s: string, i: number): number {
  while (i < s.length && isWsp(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past the closing quote of a quoted-string starting at `i` (which holds `"`); -1 if unterminated. */
export function endOfQuoted(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 92 /* \ */) j++;
    else if (c === 34) return j + 1;
  }
  return -1;
}

/** The content of a quoted-string with quoted-pairs expanded (§25.1 quoted-pair = "\" any char but CR/LF). */
export function unquote(q: string): string {
  if (q.length < 2 || q.charCodeAt(0) !== 34 || q.charCodeAt(q.length - 1) !== 34) return q;
  const inner = q.slice(1, -1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '\\' && i + 1 < inner.length) out += inner[++i];
    else out += c;
  }
  return out;
}

/** Wraps text in a quoted-string, escaping `"` and `\`. */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"' || c === '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

export type Params = Map<string, string | null>;

/**
 * Parses `*( SEMI generic-param )` from `s` at `i` (which must be at `;` or the end). Names are lowercased
 * (parameter names are case-insensitive, §7.3.1); values are kept exactly as written, a quoted-string with its
 * quotes, so that formatting gives the same bytes back; a parameter without `=` maps to null.
 * generic-param = token [ EQUAL gen-value ], gen-value = token / host / quoted-string.
 */
export function parseParams(s: string, i: number, what: string, into: Params = new Map()): Params {
  i = skipWs(s, i);
  while (i < s.length) {
    if (s.charCodeAt(i) !== 59 /* ; */) throw new SipParseError(`${what}: unexpected "${s.slice(i, i + 20)}"`);
    i = skipWs(s, i + 1);
    const ns = i;
    while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
    if (i === ns) throw new SipParseError(`${what}: empty parameter`);
    const name = s.slice(ns, i).toLowerCase();
    i = skipWs(s, i);
    let value: string | null = null;
    if (i < s.length && s.charCodeAt(i) === 61 /* = */) {
      i = skipWs(s, i + 1);
      const vs = i;
      const c = s.charCodeAt(i);
      if (c === 34) {
        const e = endOfQuoted(s, i);
        if (e < 0) throw new SipParseError(`${what}: unterminated quoted string in parameter ${name}`);
        i = e;
      } else if (c === 91 /* [ */) {
        const e = s.indexOf(']', i);
        if (e < 0) throw new SipParseError(`${what}: unterminated IPv6 reference in parameter ${name}`);
        i = e + 1;
      } else {
        // token plus the host characters ':' (IPv6 without brackets is not allowed, but host:port is not
        // a gen-value either; we are lenient on ':' so received=IPv6 from older stacks still reads).
        while (i < s.length && (isTokenChar(s.charCodeAt(i)) || s.charCodeAt(i) === 58)) i++;
      }
      if (i === vs) throw new SipParseError(`${what}: parameter ${name} has "=" but no value`);
      value = s.slice(vs, i);
      i = skipWs(s, i);
    }
    into.set(name, value);
  }
  return into;
}

/** `;name=value` for each parameter, in insertion order. */
export function formatParams(params: Params): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}

/** A parameter's value without quotes, or undefined if absent or valueless. */
export function paramText(params: Params, name: string): string | undefined {
  const v = params.get(name);
  return v == null ? undefined : unquote(v);
}

/** Parses an unsigned decimal with an upper bound; undefined when not 1*DIGIT or out of range. */
export function parseUint(s: string, max: number): number | undefined {
  if (s.length === 0 || s.length > 16) return undefined;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return n <= max ? n : undefined;
}

export const UINT32_MAX = 4294967295;
