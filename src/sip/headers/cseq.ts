/** CSeq (RFC 3261 §20.16): a sequence number below 2**31 on creation, read up to 2**32-1, and a method. */
import type { SipMessage } from '../message.js';
import { SipParseError } from '../parser.js';
import { isToken, parseUint, UINT32_MAX } from './lexical.js';

export interface CSeq {
  seq: number;
  method: string;
}

/** CSeq = "CSeq" HCOLON 1*DIGIT LWS Method. Leading zeros are fine (RFC 4475 §3.1.1.1); > 2**32-1 is not (§3.1.2.4). */
export function parseCSeq(value: string): CSeq {
  const v = value.trim();
  let i = 0;
  while (i < v.length && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
  const digits = v.slice(0, i);
  const method = v.slice(i).trim();
  if (i === 0 || i === v.length || !(v.charCodeAt(i) === 32 || v.charCodeAt(i) === 9)) {
    throw new SipParseError(`Malformed CSeq "${v.slice(0, 40)}"`);
  }
  const seq = parseUint(digits.replace(/^0+(?=\d)/, ''), UINT32_MAX);
  if (seq === undefined) throw new SipParseError(`CSeq number out of range "${digits.slice(0, 20)}"`);
  if (!isToken(method)) throw new SipParseError(`Malformed CSeq method "${method.slice(0, 20)}"`);
  return { seq, method };
}

export function formatCSeq(c: CSeq): string {
  return `${c.seq} ${c.method}`;
}

/** The CSeq of a message; throws SipParseError when missing or malformed. */
export function cseqOf(m: SipMessage): CSeq {
  const v = m.headers.get('CSeq');
  if (v === undefined) throw new SipParseError('Missing CSeq');
  return parseCSeq(v);
}
