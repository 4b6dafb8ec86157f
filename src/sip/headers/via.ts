/**
 * Via (RFC 3261 §20.42, §18.2.1; RFC 3581 rport):
 * via-parm = sent-protocol LWS sent-by *( SEMI via-params ), sent-protocol = name SLASH version SLASH transport,
 * with LWS allowed around the slashes (RFC 4475 §3.1.1.1).
 */
import type { SipMessage } from '../message.js';
import { SipParseError } from '../parser.js';
import { formatParams, isTokenChar, parseParams, skipWs, type Params } from './lexical.js';

export interface Via {
  /** 'SIP/2.0' */
  protocol: string;
  /** UDP, TCP, TLS, SCTP, WS… uppercased (transport tokens are case-insensitive). */
  transport: string;
  host: string;
  port?: number;
  /** Every via-param in order (branch, received, rport too), names lowercased, values as written. */
  params: Params;
  branch?: string;
  received?: string;
  /** RFC 3581: null when present without a value (the request asks for it), a number once filled in. */
  rport?: number | null;
}

/** RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this. */
export const MAGIC_COOKIE = 'z9hG4bK';

function token(s: string, i: number): number {
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  return i;
}

/** Parses one Via element (one entry of Headers.list('Via')). */
export function parseVia(value: string): Via {
  const s = value;
  let i = skipWs(s, 0);
  const n0 = i;
  i = token(s, i);
  const name = s.slice(n0, i);
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 47) throw new SipParseError(`Malformed Via sent-protocol "${s.slice(0, 30)}"`);
  i = skipWs(s, i + 1);
  const v0 = i;
  i = token(s, i);
  const version = s.slice(v0, i);
  i = skipWs(s, i);
  if (s.charCodeAt(i) !== 47) throw new SipParseError(`Malformed Via sent-protocol "${s.slice(0, 30)}"`);
  i = skipWs(s, i + 1);
  const t0 = i;
  i = token(s, i);
  const transport = s.slice(t0, i).toUpperCase();
  if (!name || !version || !transport) throw new SipParseError(`Malformed Via sent-protocol "${s.slice(0, 30)}"`);
  const afterProto = i;
  i = skipWs(s, i);
  if (i === afterProto) throw new SipParseError('Via: missing LWS before sent-by');

  // sent-by = host [ COLON port ]
  let host: string;
  if (s.charCodeAt(i) === 91) {
    const close = s.indexOf(']', i);
    if (close < 0) throw new SipParseError('Via: unterminated IPv6 reference');
    host = s.slice(i, close + 1);
    i = close + 1;
  } else {
    const h0 = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46) i++;
      else break;
    }
    host = s.slice(h0, i);
  }
  if (!host) throw new SipParseError('Via: missing sent-by host');
  i = skipWs(s, i);
  let port: number | undefined;
  if (s.charCodeAt(i) === 58) {
    i = skipWs(s, i + 1);
    const p0 = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    port = i > p0 && i - p0 <= 5 ? Number(s.slice(p0, i)) : NaN;
    if (!(port >= 0 && port <= 65535)) throw new SipParseError('Via: bad sent-by port');
  }
  const params = parseParams(s, i, 'Via');
  const via: Via = { protocol: `${name}/${version}`, transport, host, params };
  if (port !== undefined) via.port = port;
  const branch = params.get('branch');
  if (branch !== undefined) {
    if (branch === null) throw new SipParseError('Via: branch without a value');
    via.branch = branch;
  }
  const received = params.get('received');
  if (received !== undefined) {
    if (received === null) throw new SipParseError('Via: received without a value');
    via.received = received;
  }
  if (params.has('rport')) {
    const r = params.get('rport');
    if (r == null) via.rport = null;
    else {
      const n = Number(r);
      if (!/^\d{1,5}$/.test(r) || n > 65535) throw new SipParseError('Via: bad rport');
      via.rport = n;
    }
  }
  return via;
}

/**
 * Formats a Via element. The typed fields win over `params`: branch, received and rport are written from the
 * fields (in the position they have in params, or appended), so a transport can set `received` and `rport`
 * (§18.2.1, RFC 3581 §4) without touching the map.
 */
export function formatVia(v: Via): string {
  let out = `${v.protocol}/${v.transport} ${v.host}`;
  if (v.port !== undefined) out += `:${v.port}`;
  const params: Params = new Map(v.params);
  if (v.branch !== undefined) params.set('branch', v.branch);
  else params.delete('branch');
  if (v.received !== undefined) params.set('received', v.received);
  else params.delete('received');
  if (v.rport !== undefined) params.set('rport', v.rport === null ? null : String(v.rport));
  else params.delete('rport');
  return out + formatParams(params);
}

/** The top Via of a message (§8.2.6, §18.1.2); throws SipParseError when there is none. */
export function topVia(m: SipMessage): Via {
  const v = m.headers.first('Via');
  if (v === undefined) throw new SipParseError('Missing Via');
  return parseVia(v);
}

/** Every Via element, top first. */
export function allVias(m: SipMessage): Via[] {
  return m.headers.list('Via').map(parseVia);
}
