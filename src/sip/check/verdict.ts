/**
 * What an element does with a message before any transaction or dialog logic sees it: accept it, reject it
 * with a status code (requests only, §8.2 for a UAS, §16.3 for a proxy, §10.3 for a registrar), or discard it
 * (malformed responses, §18.1.2 / RFC 4475 §3.1.2.19). Stateless and pure: bytes in, verdict out.
 *
 * The RFC 4475 torture messages fix the choices where RFC 3261 leaves room; each is named at its check.
 */
import { createHash } from 'node:crypto';
import { isRequest, type SipMessage, type SipRequest, type SipResponse } from '../message.js';
import { parseMessage, SipParseError } from '../parser.js';
import { parseCallId } from '../headers/call-id.js';
import { parseContacts } from '../headers/contact.js';
import { parseCSeq } from '../headers/cseq.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { contentLengthOf, expiresOf, maxForwardsOf, parseContentType, parseOptionTags } from '../headers/p-headers.js';
import { MAGIC_COOKIE, parseVia, type Via } from '../headers/via.js';
import { parseUri, isSipUri } from '../uri.js';

export type Role = 'proxy' | 'uas' | 'registrar';

export interface Verdict {
  verdict: 'accept' | 'reject' | 'discard';
  /** The response to send when rejecting. */
  status?: number;
  /** Human text: the reason phrase or the Warning text of the rejection, or what was found acceptable. */
  reason: string;
  /** Header lines the rejection must carry: Allow (405/501), Unsupported (420), Accept / Accept-Encoding (415). */
  headers?: [string, string][];
}

export interface CheckOptions {
  /** 'datagram' (default) or 'stream' (§18.3 framing rules differ). */
  transport?: 'datagram' | 'stream';
  /** Option-tags this element supports (§8.2.2.3, §16.3 step 5). */
  supportedOptionTags?: Iterable<string>;
  /** Media types a UAS accepts in bodies (§8.2.3). */
  supportedMediaTypes?: Iterable<string>;
  /** Content-Encodings a UAS understands (§8.2.3); identity is always understood. */
  supportedEncodings?: Iterable<string>;
  /** Media types a UAS can put in its response bodies, matched against Accept (§8.2.3 / §21.4.7, RFC 4475 §3.4.1). */
  producibleMediaTypes?: Iterable<string>;
  /** URI schemes understood in the Request-URI (§8.2.2.1, §16.3 step 2). */
  supportedSchemes?: Iterable<string>;
  /** Methods this element implements as a UAS / registrar (405 for the others that are known, 501 for unknown). */
  allowedMethods?: Iterable<string>;
  /** This proxy's sent-by values ("host" or "host:port") for loop detection (§16.3 step 4). */
  localSentBy?: Iterable<string>;
}

export const DEFAULT_OPTION_TAGS = ['path', 'sec-agree', '100rel', 'precondition', 'timer', 'gruu', 'outbound', 'replaces'];
export const DEFAULT_MEDIA_TYPES = ['application/sdp', 'application/reginfo+xml', 'text/plain', 'message/sipfrag', 'multipart/mixed', 'application/3gpp-ims+xml', 'application/vnd.3gpp.sms'];
export const DEFAULT_SCHEMES = ['sip', 'sips', 'tel'];
/** Methods of RFC 3261 and its extensions (RFC 3262, 3265/6665, 3311, 3428, 3515, 3903, 6086). */
export const KNOWN_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'];
const UAS_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'INFO', 'REFER', 'MESSAGE', 'UPDATE'];
const REGISTRAR_METHODS = ['REGISTER', 'OPTIONS'];

const accept = (reason: string): Verdict => ({ verdict: 'accept', reason });
const reject = (status: number, reason: string, headers?: [string, string][]): Verdict =>
  headers ? { verdict: 'reject', status, reason: phrase(reason), headers } : { verdict: 'reject', status, reason: phrase(reason) };
const discard = (reason: string): Verdict => ({ verdict: 'discard', reason });

/**
 * A rejection's reason becomes a Reason-Phrase, which has no CR, LF or other control characters (§25.1), yet it
 * often quotes the offending input: such characters are written as escapes (\r, \n, \xHH) instead.
 */
function phrase(s: string): string {
  return s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => (c === '\r' ? '\\r' : c === '\n' ? '\\n' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/**
 * A short hash of the request fields §16.6 step 8 names for loop detection (Request-URI, From tag, To tag,
 * Call-ID, CSeq number, Proxy-Require, Proxy-Authorization, Route). A proxy that ends its branch with
 * `.` + loopHash(request) lets checkMessage tell a loop (482) from a spiral (§16.3 step 4).
 */
export function loopHash(m: SipRequest): string {
  const h = m.headers;
  const tag = (v: string | undefined) => {
    try {
      return v === undefined ? '' : (parseNameAddr(v).tag ?? '');
    } catch {
      return '';
    }
  };
  const cseq = (h.get('CSeq') ?? '').trim().split(/\s+/)[0] ?? '';
  const input = [m.uri, tag(h.get('From')), tag(h.get('To')), h.get('Call-ID') ?? '', cseq, h.getAll('Proxy-Require').join(','), h.getAll('Proxy-Authorization').join(','), h.getAll('Route').join(',')].join('\n');
  return createHash('md5').update(input).digest('base64url').slice(0, 12);
}

export function checkMessage(bytes: Buffer, role: Role, options: CheckOptions = {}): Verdict {
  let m: SipMessage;
  try {
    m = parseMessage(bytes, { transport: options.transport ?? 'datagram' });
  } catch (e) {
    if (!(e instanceof SipParseError)) throw e;
    // A request we can still identify gets its 400 (§21.4.1); anything else (responses included) is dropped.
    if (e.partial?.kind === 'request' && e.partial.headers?.has('Via')) return reject(400, e.reason);
    return discard(e.reason);
  }
  return isRequest(m) ? checkRequest(m, role, options) : checkResponse(m, role);
}

function checkResponse(m: SipResponse, role: Role): Verdict {
  if (m.version.toUpperCase() !== 'SIP/2.0') return discard(`Unsupported SIP version ${m.version}`);
  let vias: Via[];
  try {
    vias = m.headers.list('Via').map(parseVia);
    if (vias.length === 0) return discard('Response without Via');
    for (const name of ['From', 'To']) {
      const v = single(m, name);
      if (v === undefined) return discard(`Response without ${name}`);
      parseNameAddr(v);
    }
    const callId = single(m, 'Call-ID');
    if (callId === undefined) return discard('Response without Call-ID');
    parseCallId(callId);
    const cseq = single(m, 'CSeq');
    if (cseq === undefined) return discard('Response without CSeq');
    parseCSeq(cseq);
    contentLengthOf(m.headers);
  } catch (e) {
    if (e instanceof SipParseError) return discard(`Malformed response: ${e.reason}`);
    throw e;
  }
  if (role !== 'proxy') {
    // A UAS or registrar has no client transaction: a response reaching it is stray (§17.1.3 finds no match).
    return discard('Stray response: this element has no client transaction for it');
  }
  // §16.7 step 3: the proxy removes its own Via and sends to the next one. A broadcast or multicast next hop
  // is not an element (RFC 4475 §3.3.10); drop rather than spray it.
  const next = vias[1];
  if (next) {
    const target = next.received ?? next.host;
    if (isBroadcastOrMulticast(target) && !next.params.has('maddr')) return discard(`Next Via ${target} is a broadcast/multicast address`);
  }
  return accept('Well-formed response');
}

function isBroadcastOrMulticast(host: string): boolean {
  if (host === '255.255.255.255') return true;
  const first = Number(host.split('.')[0]);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host) && first >= 224 && first <= 239) return true;
  return /^\[?ff/i.test(host) && host.includes(':');
}

/** The value of a header that must occur once; throws when it occurs on several lines or as a list. */
function single(m: SipMessage, name: string): string | undefined {
  const all = m.headers.getAll(name);
  if (all.length > 1) throw new SipParseError(`More than one ${name} (RFC 4475 §3.3.8)`);
  return all[0];
}

function checkRequest(m: SipRequest, role: Role, o: CheckOptions): Verdict {
  // §8.2 / §16.3 step 1: reasonable syntax, in the fields every element needs.
  if (m.version.toUpperCase() !== 'SIP/2.0') return reject(505, `SIP version ${m.version} not supported`);
  let cseqMethod: string;
  try {
    const vias = m.headers.list('Via');
    if (vias.length === 0) return reject(400, 'Missing Via');
    // A comma with nothing around it is an empty via-parm (RFC 4475 §3.1.2.1); splitList drops those silently.
    for (const line of m.headers.getAll('Via')) if (/(^|,)\s*(,|$)/.test(line)) return reject(400, 'Empty Via element');
    for (const v of vias) {
      const via = parseVia(v);
      // RFC 4475 §3.2.1: the magic cookie alone claims RFC 3261 but carries no transaction id.
      if (via.branch !== undefined && via.branch === MAGIC_COOKIE) return reject(400, 'Via branch has the magic cookie but no transaction id');
    }
    for (const name of ['From', 'To', 'Call-ID', 'CSeq']) if (!m.headers.has(name)) return reject(400, `Missing ${name}`);
    const from = parseNameAddr(single(m, 'From')!);
    const to = parseNameAddr(single(m, 'To')!);
    parseCallId(single(m, 'Call-ID')!);
    const cseq = parseCSeq(single(m, 'CSeq')!);
    cseqMethod = cseq.method;
    void from;
    maxForwardsOf(m.headers);
    expiresOf(m.headers);
    if (m.headers.has('Contact')) parseContacts(m.headers);
    const ct = single(m, 'Content-Type');
    if (ct !== undefined) parseContentType(ct);
    for (const t of ['Require', 'Proxy-Require', 'Supported'] as const) parseOptionTags(m.headers, t);
    for (const name of ['Route', 'Record-Route', 'Path', 'Service-Route', 'P-Asserted-Identity', 'P-Preferred-Identity']) {
      for (const v of m.headers.list(name)) parseNameAddr(v);
    }
    // §8.2.2.1 / RFC 4475 §3.3.4: a registrar's To is an address-of-record, which must be SIP or SIPS.
    if (role === 'registrar' && m.method === 'REGISTER') {
      const aor = parseUri(to.uri);
      if (!isSipUri(aor)) return reject(400, `To ${aor.scheme}: URI is not a SIP address-of-record`);
    }
  } catch (e) {
    if (e instanceof SipParseError) return reject(400, e.reason);
    throw e;
  }
  const known = KNOWN_METHODS.includes(m.method);
  if (cseqMethod !== m.method) {
    // RFC 4475 §3.1.2.18: an unknown method is 501 whatever the CSeq says; otherwise the mismatch is a 400.
    if (!known) return reject(501, `Method ${m.method} not implemented`, allowHeader(role, o));
    return reject(400, `CSeq method ${cseqMethod} does not match ${m.method}`);
  }

  // Request-URI (§8.2.2.1, §16.3 step 2; §19.1.1: headers are not allowed in a Request-URI, RFC 4475 §3.1.2.11).
  const schemes = new Set(o.supportedSchemes ?? DEFAULT_SCHEMES);
  let ruriScheme: string;
  try {
    const u = parseUri(m.uri);
    ruriScheme = u.scheme;
    if (isSipUri(u) && u.headers.size > 0) return reject(400, 'Request-URI must not contain headers (§19.1.1)');
  } catch (e) {
    if (e instanceof SipParseError) return reject(400, `Bad Request-URI: ${e.reason}`);
    throw e;
  }
  const tags = new Set(o.supportedOptionTags ?? DEFAULT_OPTION_TAGS);
  return role === 'proxy' ? checkAtProxy(m, o, tags, schemes, ruriScheme) : checkAtUas(m, role, o, tags, schemes, ruriScheme, known);
}

function allowHeader(role: Role, o: CheckOptions): [string, string][] {
  const allowed = [...(o.allowedMethods ?? (role === 'registrar' ? REGISTRAR_METHODS : UAS_METHODS))];
  return [['Allow', allowed.join(', ')]];
}

function checkAtProxy(m: SipRequest, o: CheckOptions, tags: Set<string>, schemes: Set<string>, scheme: string): Verdict {
  // §16.3 step 2
  if (!schemes.has(scheme)) return reject(416, `Unsupported URI scheme ${scheme}`);
  // §16.3 step 3 (RFC 4475 §3.3.11)
  if (maxForwardsOf(m.headers) === 0) return reject(483, 'Too Many Hops');
  // §16.3 step 4: our own Via with the same loop hash is a loop; with a different one it is a spiral.
  if (o.localSentBy) {
    const mine = new Set([...o.localSentBy].map((s) => s.toLowerCase()));
    const hash = loopHash(m);
    for (const v of m.headers.list('Via')) {
      const via = parseVia(v);
      const sentBy = via.port !== undefined ? `${via.host}:${via.port}` : via.host;
      if ((mine.has(sentBy.toLowerCase()) || mine.has(via.host.toLowerCase())) && via.branch?.endsWith('.' + hash)) {
        return reject(482, 'Loop Detected');
      }
    }
  }
  // §16.3 step 5
  const unknown = parseOptionTags(m.headers, 'Proxy-Require').filter((t) => !tags.has(t));
  if (unknown.length > 0) return reject(420, `Bad Extension: ${unknown.join(', ')}`, [['Unsupported', unknown.join(', ')]]);
  return accept('Well-formed request; forward');
}

function checkAtUas(m: SipRequest, role: Role, o: CheckOptions, tags: Set<string>, schemes: Set<string>, scheme: string, known: boolean): Verdict {
  // §8.2.1 method inspection
  const allowed = new Set(o.allowedMethods ?? (role === 'registrar' ? REGISTRAR_METHODS : UAS_METHODS));
  if (!allowed.has(m.method)) {
    if (!known) return reject(501, `Method ${m.method} not implemented`, allowHeader(role, o));
    return reject(405, `Method ${m.method} not allowed`, allowHeader(role, o));
  }
  // §8.2.2.1
  if (!schemes.has(scheme)) return reject(416, `Unsupported URI scheme ${scheme}`);
  // §8.2.2.3: ACK and CANCEL never get a 420.
  if (m.method !== 'ACK' && m.method !== 'CANCEL') {
    const unknown = parseOptionTags(m.headers, 'Require').filter((t) => !tags.has(t));
    if (unknown.length > 0) return reject(420, `Bad Extension: ${unknown.join(', ')}`, [['Unsupported', unknown.join(', ')]]);
  }
  // §8.2.3 content processing
  const types = new Set(o.supportedMediaTypes ?? DEFAULT_MEDIA_TYPES);
  const ct = m.headers.get('Content-Type');
  if (m.body.length > 0 || ct !== undefined) {
    if (ct !== undefined) {
      const t = parseContentType(ct);
      const name = `${t.type}/${t.subtype}`;
      if (!types.has(name)) return reject(415, `Unsupported Media Type ${name}`, [['Accept', [...types].join(', ')]]);
    }
    const encodings = new Set(['identity', ...(o.supportedEncodings ?? [])]);
    const bad = m.headers.list('Content-Encoding').map((e) => e.toLowerCase()).filter((e) => !encodings.has(e));
    if (bad.length > 0) return reject(415, `Unsupported Content-Encoding ${bad.join(', ')}`, [['Accept-Encoding', [...encodings].join(', ')]]);
  }
  // RFC 4475 §3.4.1: an Accept that excludes every type this UAS can answer with (SDP for INVITE/OPTIONS).
  if ((m.method === 'INVITE' || m.method === 'OPTIONS') && m.headers.has('Accept')) {
    const ranges = m.headers.list('Accept').map((a) => a.split(';')[0]!.trim().toLowerCase());
    const produce = [...(o.producibleMediaTypes ?? ['application/sdp'])];
    const ok = ranges.length === 0 || ranges.some((r) => r === '*/*' || produce.some((p) => p === r || (r.endsWith('/*') && p.startsWith(r.slice(0, -1)))));
    if (!ok) return reject(406, `Not Acceptable: cannot produce ${ranges.join(', ')}`);
  }
  return accept(role === 'registrar' ? 'Well-formed request; process the registration' : 'Well-formed request');
}
