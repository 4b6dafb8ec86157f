/**
 * In-process SIP targets: the codec (RFC 3261 §7, §25), stream framing (§18.3), the element checks
 * (§8.2, §16.3), URIs (§19.1) and the typed header views. Each one states what it may throw for bad input;
 * anything else, and any broken property of what it accepted, is a finding.
 */
import { checkMessage, loopHash, type Role } from '../../src/sip/check/verdict.js';
import { describeHeader } from '../../src/sip/check/describe.js';
import { StreamFramer, type FramedItem } from '../../src/sip/framing.js';
import { AuthHeaderError, parseAuthHeader } from '../../src/sip/auth/credentials.js';
import { formatChallenge, formatCredentials, parseChallenge, parseCredentials } from '../../src/sip/headers/auth.js';
import { callId } from '../../src/sip/headers/call-id.js';
import { parseContacts } from '../../src/sip/headers/contact.js';
import { cseqOf, formatCSeq, parseCSeq } from '../../src/sip/headers/cseq.js';
import { formatNameAddr, fromTag, parseNameAddr, toTag } from '../../src/sip/headers/name-addr.js';
import {
  contentLengthOf,
  expiresOf,
  formatContentType,
  formatPAccessNetworkInfo,
  formatPChargingVector,
  formatPVisitedNetworkId,
  maxForwardsOf,
  minExpiresOf,
  parseContentType,
  parseOptionTags,
  parsePAccessNetworkInfo,
  parsePChargingVector,
  parsePVisitedNetworkId,
} from '../../src/sip/headers/p-headers.js';
import { formatSecurityMechanisms, ipsecParams, parseSecurityMechanisms } from '../../src/sip/headers/security.js';
import { allVias, formatVia, parseVia, topVia } from '../../src/sip/headers/via.js';
import { headerKey } from '../../src/sip/header-names.js';
import { isRequest, type SipMessage } from '../../src/sip/message.js';
import { parseMessage, SipParseError } from '../../src/sip/parser.js';
import { serializeMessage } from '../../src/sip/serializer.js';
import { splitList } from '../../src/sip/syntax.js';
import { formatUri, parseUri, uriEquals } from '../../src/sip/uri.js';
import { SeededRandom } from '../../src/util/random.js';
import { PropertyViolation, type FuzzTarget } from '../types.js';

/** A cheap hash of the input, so that choices a target makes (chunk sizes) depend on the input alone. */
export function inputHash(b: Buffer): number {
  let h = 0x811c9dc5 ^ b.length;
  const step = b.length > 256 ? Math.floor(b.length / 128) : 1;
  for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
}

function describeMessage(m: SipMessage): string {
  return isRequest(m) ? `${m.method} ${m.uri.slice(0, 60)}` : `${m.status}`;
}

/** Fields that must survive serialize → parse. Content-Length is left out: the serializer states the real length by design. */
function sameMessage(a: SipMessage, b: SipMessage): string | undefined {
  if (a.kind !== b.kind) return 'kind';
  if (a.version !== b.version) return 'version';
  if (isRequest(a) && isRequest(b)) {
    if (a.method !== b.method) return 'method';
    if (a.uri !== b.uri) return 'Request-URI';
  } else if (!isRequest(a) && !isRequest(b)) {
    if (a.status !== b.status) return 'status';
    if (a.reason !== b.reason) return 'reason phrase';
  }
  if (!a.body.equals(b.body)) return 'body';
  const ha = [...a.headers.entries()].filter(([n]) => headerKey(n) !== 'content-length');
  const hb = [...b.headers.entries()].filter(([n]) => headerKey(n) !== 'content-length');
  if (ha.length !== hb.length) return `header count ${ha.length} → ${hb.length}`;
  for (let i = 0; i < ha.length; i++) {
    if (ha[i]![0] !== hb[i]![0] || ha[i]![1] !== hb[i]![1]) return `header line ${i + 1} (${ha[i]![0]}: ${JSON.stringify(ha[i]![1].slice(0, 40))} → ${hb[i]![0]}: ${JSON.stringify(hb[i]![1].slice(0, 40))})`;
  }
  return undefined;
}

/** parse → serialize → parse must succeed and give the same message, and serialize must then be a fixpoint. */
function roundTrip(m1: SipMessage): void {
  const b1 = serializeMessage(m1);
  let m2: SipMessage;
  try {
    m2 = parseMessage(b1, { transport: 'stream' });
  } catch (e) {
    if (e instanceof SipParseError) throw new PropertyViolation(`${describeMessage(m1)} parsed, but its serialized form does not: ${e.reason}`);
    throw e;
  }
  const diff = sameMessage(m1, m2);
  if (diff) throw new PropertyViolation(`${describeMessage(m1)}: serialize → parse changed the ${diff}`);
  const b2 = serializeMessage(m2);
  if (!b1.equals(b2)) throw new PropertyViolation(`${describeMessage(m1)}: serialize(parse(serialize(m))) differs from serialize(m)`);
}

export const sipParse: FuzzTarget = {
  name: 'sip-parse',
  description: 'parseMessage as datagram and as stream; what parses must serialize, re-parse to the same message, and serialize to the same bytes',
  corpus: 'sip',
  live: false,
  expected: [SipParseError],
  create: () => ({
    execute(input) {
      let accepted = false;
      let error: unknown;
      for (const transport of ['datagram', 'stream'] as const) {
        let m: SipMessage;
        try {
          m = parseMessage(input, { transport });
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
          error = e;
          continue;
        }
        accepted = true;
        roundTrip(m);
      }
      if (!accepted) throw error;
      return true;
    },
    close() {},
  }),
};

function frameAll(framer: StreamFramer, chunks: Buffer[]): FramedItem[] {
  const out: FramedItem[] = [];
  for (const c of chunks) for (const item of framer.push(c)) out.push(item);
  return out;
}

function chunked(input: Buffer, r: SeededRandom): Buffer[] {
  const chunks: Buffer[] = [];
  const oneByOne = input.length < 1500 && r.float() < 0.2;
  for (let i = 0; i < input.length; ) {
    const n = oneByOne ? 1 : 1 + r.int(r.float() < 0.5 ? 16 : 2048);
    chunks.push(input.subarray(i, i + n));
    i += n;
  }
  return chunks;
}

export const sipFramer: FuzzTarget = {
  name: 'sip-framer',
  description: 'StreamFramer fed whole and in random chunks must cut the same messages (or fail the same way); each message then goes to parseMessage(stream)',
  corpus: 'sip',
  live: false,
  expected: [SipParseError],
  create: () => ({
    execute(input) {
      const r = new SeededRandom(inputHash(input));
      // Sometimes the same message twice on one stream, with a keep-alive between (RFC 5626 §3.5.1).
      const stream = r.float() < 0.3 ? Buffer.concat([input, Buffer.from('\r\n\r\n'), input]) : input;
      const whole = frameAll(new StreamFramer(), [stream]);
      const parts = frameAll(new StreamFramer(), chunked(stream, r));
      if (whole.length !== parts.length) throw new PropertyViolation(`framing depends on chunking: ${whole.length} items whole, ${parts.length} in chunks`);
      for (let i = 0; i < whole.length; i++) {
        const a = whole[i]!;
        const b = parts[i]!;
        if ('error' in a || 'error' in b) {
          if (!('error' in a && 'error' in b) || a.error !== b.error) throw new PropertyViolation(`framing item ${i} differs with chunking: ${JSON.stringify(a).slice(0, 120)} vs ${JSON.stringify(b).slice(0, 120)}`);
        } else if (!a.bytes.equals(b.bytes)) {
          throw new PropertyViolation(`framed message ${i} differs with chunking (${a.bytes.length} vs ${b.bytes.length} octets)`);
        }
      }
      let accepted = false;
      for (const item of whole) {
        if ('error' in item) continue;
        try {
          parseMessage(item.bytes, { transport: 'stream' });
          accepted = true;
        } catch (e) {
          if (!(e instanceof SipParseError)) throw e;
        }
      }
      return accepted;
    },
    close() {},
  }),
};

const ROLES: readonly Role[] = ['proxy', 'uas', 'registrar'];

export const sipCheck: FuzzTarget = {
  name: 'sip-check',
  description: 'checkMessage for the proxy, UAS and registrar roles over datagram and stream: always a verdict, a rejection always with a 4xx–6xx status',
  corpus: 'sip',
  live: false,
  // A verdict function: bad input is a verdict, never an exception.
  expected: [],
  create: () => ({
    execute(input) {
      let accepted = false;
      for (const role of ROLES) {
        for (const transport of ['datagram', 'stream'] as const) {
          const v = checkMessage(input, role, { transport, localSentBy: ['127.0.48.1:5060', 'pcscf1.ims.lab'] });
          if (v.verdict === 'accept') accepted = true;
          else if (v.verdict === 'reject') {
            if (v.status === undefined || v.status < 400 || v.status > 699) throw new PropertyViolation(`${role}/${transport}: rejection with status ${v.status}`);
            if (/[\r\n]/.test(v.reason)) throw new PropertyViolation(`${role}/${transport}: rejection reason contains a line break, it would break the status line`);
          } else if (v.verdict !== 'discard') throw new PropertyViolation(`${role}/${transport}: verdict ${String(v.verdict)}`);
        }
      }
      return accepted;
    },
    close() {},
  }),
};

export const sipUri: FuzzTarget = {
  name: 'sip-uri',
  description: 'parseUri; what parses must format, re-parse, compare equal (RFC 3261 §19.1.4) and format to the same text',
  corpus: 'uri',
  live: false,
  expected: [SipParseError],
  create: () => ({
    execute(input) {
      const text = input.toString('utf8');
      const u = parseUri(text);
      const f1 = formatUri(u);
      let u2;
      try {
        u2 = parseUri(f1);
      } catch (e) {
        if (e instanceof SipParseError) throw new PropertyViolation(`URI parsed but its formatted form ${JSON.stringify(f1.slice(0, 80))} does not: ${e.reason}`);
        throw e;
      }
      if (!uriEquals(u, u2)) throw new PropertyViolation(`URI not equal to itself after format → parse: ${JSON.stringify(f1.slice(0, 80))}`);
      if (formatUri(u2) !== f1) throw new PropertyViolation(`formatUri is not a fixpoint: ${JSON.stringify(f1.slice(0, 80))}`);
      return true;
    },
    close() {},
  }),
};

/** Runs one view; a SipParseError (or AuthHeaderError) is its documented "no", anything else propagates. */
function view(f: () => void): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (e instanceof SipParseError || e instanceof AuthHeaderError) return false;
    throw e;
  }
}

function stable<T>(what: string, value: string, parse: (v: string) => T, format: (x: T) => string): void {
  const x = parse(value);
  const text = format(x);
  let again: T;
  try {
    again = parse(text);
  } catch (e) {
    if (e instanceof SipParseError) throw new PropertyViolation(`${what} ${JSON.stringify(value.slice(0, 60))} parsed, its formatted form ${JSON.stringify(text.slice(0, 60))} does not: ${e.reason}`);
    throw e;
  }
  if (format(again) !== text) throw new PropertyViolation(`${what}: format is not a fixpoint for ${JSON.stringify(text.slice(0, 60))}`);
}

export const sipHeaders: FuzzTarget = {
  name: 'sip-headers',
  description: 'the typed header views (Via, CSeq, name-addr, Contact, auth, Security-*, P-headers, integers) on every line of what parses; format → parse must be stable',
  corpus: 'sip',
  live: false,
  expected: [SipParseError],
  create: () => ({
    execute(input) {
      const m = parseMessage(input);
      const h = m.headers;
      for (const [name, value] of h.entries()) {
        describeHeader(name, value, m);
        const k = headerKey(name);
        // Like an element, stop at the first bad element of a list: a line of 16,000 "x," is one rejection.
        if (k === 'via') {
          for (const v of splitList(value)) if (!view(() => stable('Via', v, parseVia, formatVia))) break;
        } else if (k === 'cseq') view(() => stable('CSeq', value, parseCSeq, formatCSeq));
        else if (k === 'from' || k === 'to' || k === 'p-asserted-identity' || k === 'route' || k === 'record-route' || k === 'path' || k === 'service-route') {
          for (const v of k === 'from' || k === 'to' ? [value] : splitList(value)) {
            if (!view(() => stable(name, v, parseNameAddr, formatNameAddr))) break;
          }
        } else if (k === 'authorization' || k === 'proxy-authorization') {
          view(() => stable(name, value, parseCredentials, formatCredentials));
          view(() => parseAuthHeader(value));
        } else if (k === 'www-authenticate' || k === 'proxy-authenticate') {
          view(() => stable(name, value, parseChallenge, formatChallenge));
          view(() => parseAuthHeader(value));
        } else if (k === 'security-client' || k === 'security-server' || k === 'security-verify') {
          view(() => {
            const ms = parseSecurityMechanisms([value]);
            for (const mech of ms) view(() => ipsecParams(mech));
            stable(name, value, (v) => parseSecurityMechanisms([v]), formatSecurityMechanisms);
          });
        } else if (k === 'p-charging-vector') view(() => stable(name, value, parsePChargingVector, formatPChargingVector));
        else if (k === 'p-access-network-info') view(() => stable(name, value, parsePAccessNetworkInfo, formatPAccessNetworkInfo));
        else if (k === 'content-type') view(() => stable(name, value, parseContentType, formatContentType));
      }
      view(() => allVias(m));
      view(() => topVia(m));
      view(() => cseqOf(m));
      view(() => callId(m));
      view(() => fromTag(m));
      view(() => toTag(m));
      view(() => parseContacts(h));
      view(() => parsePVisitedNetworkId(h).map(formatPVisitedNetworkId));
      for (const t of ['Require', 'Supported', 'Proxy-Require', 'Unsupported'] as const) view(() => parseOptionTags(h, t));
      view(() => maxForwardsOf(h));
      view(() => expiresOf(h));
      view(() => minExpiresOf(h));
      view(() => contentLengthOf(h));
      if (isRequest(m)) loopHash(m);
      // The list helpers and copies the proxy core relies on.
      const copy = h.clone();
      for (const name of ['Via', 'Route', 'Record-Route', 'Contact', 'Path']) {
        copy.list(name);
        copy.first(name);
        copy.shift(name);
      }
      copy.delete('Via');
      return true;
    },
    close() {},
  }),
};
