/** Call-ID (RFC 3261 §20.8): callid = word [ "@" word ]. */
import type { SipMessage } from '../message.js';
import { SipParseError } from '../parser.js';

/** word characters of §25.1: token characters plus ( ) < > : \ " / [ ] ? { }. */
function isWordChar(c: number): boolean {
  if (c <= 32 || c >= 127) return false;
  return c !== 59 /* ; */ && c !== 44 /* , */ && c !== 61 /* = */ && c !== 64 /* @ */ && c !== 38 /* & */ && c !== 35 /* # */ && c !== 94 /* ^ */ && c !== 124 /* | */ && c !== 36 /* $ */;
}

export function parseCallId(value: string): string {
  const v = value.trim();
  const at = v.indexOf('@');
  const check = (w: string) => {
    if (w.length === 0) return false;
    for (let i = 0; i < w.length; i++) if (!isWordChar(w.charCodeAt(i))) return false;
    return true;
  };
  if (at >= 0 ? !check(v.slice(0, at)) || !check(v.slice(at + 1)) : !check(v)) {
    throw new SipParseError(`Malformed Call-ID "${v.slice(0, 40)}"`);
  }
  return v;
}

/** The Call-ID of a message; throws SipParseError when missing. */
export function callId(m: SipMessage): string {
  const v = m.headers.get('Call-ID');
  if (v === undefined) throw new SipParseError('Missing Call-ID');
  return v;
}
