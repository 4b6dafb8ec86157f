/**
 * The smaller header families: 3GPP P-headers (RFC 7315, TS 24.229 §7.2), option-tag lists (RFC 3261 §20.32,
 * §20.29, §20.37, §20.40), Content-Type (§20.15) and the integer headers (§20.22, §20.19, §20.14).
 */
import type { Headers } from '../message.js';
import { SipParseError } from '../parser.js';
import { splitList } from '../syntax.js';
import { endOfQuoted, formatParams, isToken, isTokenChar, paramText, parseParams, parseUint, quote, skipWs, UINT32_MAX, type Params } from './lexical.js';

/** P-Charging-Vector (RFC 7315 §5.6, TS 24.229 §7.2A.5): icid-value mandatory, then generic params. */
export interface ChargingVector {
  icidValue: string;
  icidGeneratedAt?: string;
  origIoi?: string;
  termIoi?: string;
  params: Params;
}

export function parsePChargingVector(value: string): ChargingVector {
  const params = parseParams(';' + value.trim(), 0, 'P-Charging-Vector');
  const icid = paramText(params, 'icid-value');
  if (!icid) throw new SipParseError('P-Charging-Vector without icid-value');
  const v: ChargingVector = { icidValue: icid, params };
  const gen = paramText(params, 'icid-generated-at');
  if (gen !== undefined) v.icidGeneratedAt = gen;
  const o = paramText(params, 'orig-ioi');
  if (o !== undefined) v.origIoi = o;
  const t = paramText(params, 'term-ioi');
  if (t !== undefined) v.termIoi = t;
  return v;
}

export function formatPChargingVector(v: ChargingVector): string {
  const params: Params = new Map(v.params);
  params.set('icid-value', genValue(v.icidValue));
  if (v.icidGeneratedAt !== undefined) params.set('icid-generated-at', genValue(v.icidGeneratedAt));
  if (v.origIoi !== undefined) params.set('orig-ioi', genValue(v.origIoi));
  if (v.termIoi !== undefined) params.set('term-ioi', genValue(v.termIoi));
  return formatParams(params).slice(1);
}

/**
 * gen-value = token / host / quoted-string (RFC 3261 §25.1): the typed fields hold unquoted text, so a value
 * such as the base64 icid-value of TS 24.229 §7.2A.5 ("…T5tAFrbHLso=023551024") must get its quotes back.
 */
function genValue(s: string): string {
  return isToken(s) || /^\[[0-9A-Fa-f:.]+\]$/.test(s) ? s : quote(s);
}

/** P-Visited-Network-ID (RFC 7315 §4.3): list of (token / quoted-string) *(SEMI generic-param). */
export interface VisitedNetwork {
  network: string;
  params: Params;
}

export function parsePVisitedNetworkId(h: Headers): VisitedNetwork[] {
  const out: VisitedNetwork[] = [];
  for (const line of h.getAll('P-Visited-Network-ID')) {
    for (const el of splitList(line)) {
      let i = skipWs(el, 0);
      let network: string;
      if (el.charCodeAt(i) === 34) {
        const e = endOfQuoted(el, i);
        if (e < 0) throw new SipParseError('P-Visited-Network-ID: unterminated quoted string');
        network = el.slice(i + 1, e - 1);
        i = e;
      } else {
        const s0 = i;
        while (i < el.length && isTokenChar(el.charCodeAt(i))) i++;
        network = el.slice(s0, i);
      }
      if (!network) throw new SipParseError('P-Visited-Network-ID: empty network');
      out.push({ network, params: parseParams(el, i, 'P-Visited-Network-ID') });
    }
  }
  return out;
}

export function formatPVisitedNetworkId(v: VisitedNetwork): string {
  return (isToken(v.network) ? v.network : `"${v.network}"`) + formatParams(v.params);
}

/** P-Access-Network-Info (RFC 7315 §5.4, TS 24.229 §7.2A.4): access-type *(SEMI access-info). */
export interface AccessNetworkInfo {
  accessType: string;
  params: Params;
}

export function parsePAccessNetworkInfo(value: string): AccessNetworkInfo {
  const s = value.trim();
  let i = 0;
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  const accessType = s.slice(0, i);
  if (!accessType) throw new SipParseError('P-Access-Network-Info without access-type');
  return { accessType, params: parseParams(s, i, 'P-Access-Network-Info') };
}

export function formatPAccessNetworkInfo(v: AccessNetworkInfo): string {
  return v.accessType + formatParams(v.params).replace(/;/g, '; ');
}

/** Option tags of Require, Supported, Proxy-Require, Unsupported (§20.32): every element a token. */
export function parseOptionTags(h: Headers, name: 'Require' | 'Supported' | 'Proxy-Require' | 'Unsupported'): string[] {
  const tags = h.list(name);
  for (const t of tags) if (!isToken(t)) throw new SipParseError(`${name}: "${t.slice(0, 30)}" is not an option-tag`);
  return tags;
}

/** Content-Type (§20.15, RFC 2045 §5.1): type "/" subtype *(SEMI m-parameter); type and subtype lowercased. */
export interface MediaType {
  type: string;
  subtype: string;
  params: Params;
}

export function parseContentType(value: string): MediaType {
  const s = value.trim();
  let i = 0;
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  const type = s.slice(0, i).toLowerCase();
  i = skipWs(s, i);
  if (!type || s.charCodeAt(i) !== 47) throw new SipParseError(`Malformed Content-Type "${s.slice(0, 40)}"`);
  i = skipWs(s, i + 1);
  const s0 = i;
  while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
  const subtype = s.slice(s0, i).toLowerCase();
  if (!subtype) throw new SipParseError(`Malformed Content-Type "${s.slice(0, 40)}"`);
  return { type, subtype, params: parseParams(s, i, 'Content-Type') };
}

export function formatContentType(t: MediaType): string {
  return `${t.type}/${t.subtype}${formatParams(t.params)}`;
}

function integer(h: Headers, name: string, max: number): number | undefined {
  const all = h.getAll(name);
  if (all.length === 0) return undefined;
  if (all.length > 1) throw new SipParseError(`More than one ${name}`);
  const n = parseUint(all[0]!.trim(), max);
  if (n === undefined) throw new SipParseError(`${name} "${all[0]!.slice(0, 20)}" is not an integer in 0..${max}`);
  return n;
}

/** Max-Forwards (§20.22): 0..255. */
export const maxForwardsOf = (h: Headers) => integer(h, 'Max-Forwards', 255);
/** Expires (§20.19): delta-seconds, up to 2**32-1 (RFC 4475 §3.1.2.4). */
export const expiresOf = (h: Headers) => integer(h, 'Expires', UINT32_MAX);
/** Min-Expires (§20.23). */
export const minExpiresOf = (h: Headers) => integer(h, 'Min-Expires', UINT32_MAX);
/** Content-Length (§20.14). */
export const contentLengthOf = (h: Headers) => integer(h, 'Content-Length', UINT32_MAX);
