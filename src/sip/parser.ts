/**
 * The SIP message parser (RFC 3261 §7, §25.1): one datagram or one framed stream message in, a SipMessage out.
 *
 * It does the work every element needs and nothing more: start line, header lines (unfolded, names
 * case-insensitive, compact forms expanded, unknown headers kept verbatim) and a body of exactly
 * Content-Length octets. Header values stay text; the typed views in src/sip/headers parse them on demand.
 */
import { Headers, SipRequest, SipResponse, type SipMessage } from './message.js';
import { isTokenChar } from './headers/lexical.js';

/** What is readable of a message that failed to parse: enough for a server to build its 400 (§8.2, §16.3). */
export interface PartialMessage {
  kind: 'request' | 'response';
  method?: string;
  headers?: Headers;
}

export class SipParseError extends Error {
  constructor(
    /** Human text, short enough for a reason phrase or a Warning (§20.43). */
    readonly reason: string,
    readonly partial?: PartialMessage,
  ) {
    super(reason);
    this.name = 'SipParseError';
  }
}

export interface ParseOptions {
  /**
   * 'datagram' (default): a missing Content-Length means the rest of the datagram, extra octets after the body
   * are dropped (§18.3). 'stream': the framer already cut the message, Content-Length is mandatory.
   */
  transport?: 'datagram' | 'stream';
}

const CR = 13;
const LF = 10;

/** Index of the empty line ending the header section, and where the body starts; -1 if absent. */
function findHeaderEnd(bytes: Buffer): { end: number; bodyStart: number } {
  const i = bytes.indexOf('\r\n\r\n', 0, 'latin1');
  if (i >= 0) return { end: i, bodyStart: i + 4 };
  // Bare LF line ends are not SIP, but some test tools send them; accept them rather than time out.
  const j = bytes.indexOf('\n\n', 0, 'latin1');
  if (j >= 0) return { end: j, bodyStart: j + 2 };
  return { end: -1, bodyStart: -1 };
}

/** Parses one message. Throws SipParseError with whatever part was readable. */
export function parseMessage(bytes: Buffer, options: ParseOptions = {}): SipMessage {
  const stream = options.transport === 'stream';
  let start = 0;
  // §7.5: CRLFs before the start line are ignored (keep-alives and stray line ends).
  while (start < bytes.length && (bytes[start] === CR || bytes[start] === LF)) start++;
  const data = start > 0 ? bytes.subarray(start) : bytes;
  if (data.length === 0) throw new SipParseError('Empty message');

  let { end, bodyStart } = findHeaderEnd(data);
  if (end < 0) {
    // A datagram with no empty line: the header section is the whole datagram and the body is empty,
    // unless the last header line was cut short (the message then simply has no body).
    if (stream) throw new SipParseError('No empty line after the header section');
    end = data.length;
    while (end > 0 && (data[end - 1] === LF || data[end - 1] === CR)) end--;
    bodyStart = data.length;
  }
  const head = data.toString('utf8', 0, end);
  // Values are cut from the bytes, not sliced from `head`: V8 keeps a slice's whole parent string alive, so
  // one header kept for long (a Via branch in a transaction, a Contact in a registration, a Call-ID copied
  // into a response) would otherwise hold the entire header section of its message for as long.
  // ASCII exactly when no byte became fewer characters (valid multi-byte UTF-8) or a U+FFFD (an invalid byte
  // decodes to one replacement character each, which keeps the length): only then are offsets into `head` byte offsets.
  const ascii = head.length === end && head.indexOf('\uFFFD') < 0;

  // Start line (§7.1, §7.2).
  let lineEnd = head.indexOf('\n');
  if (lineEnd < 0) lineEnd = head.length;
  const startLine = head.charCodeAt(lineEnd - 1) === CR ? head.slice(0, lineEnd - 1) : head.slice(0, lineEnd);
  const isResponse = startLine.startsWith('SIP/') || startLine.startsWith('sip/');
  const partial: PartialMessage = { kind: isResponse ? 'response' : 'request' };

  let method = '';
  let uri = '';
  let version: string;
  let status = 0;
  let reason = '';
  let startError: string | undefined;
  if (isResponse) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2); the reason may be empty.
    const sp1 = startLine.indexOf(' ');
    version = sp1 < 0 ? startLine : startLine.slice(0, sp1);
    const sp2 = sp1 < 0 ? -1 : startLine.indexOf(' ', sp1 + 1);
    const code = sp1 < 0 ? '' : sp2 < 0 ? startLine.slice(sp1 + 1) : startLine.slice(sp1 + 1, sp2);
    reason = sp2 < 0 ? '' : startLine.slice(sp2 + 1);
    if (code.length !== 3 || !isDigits(code)) startError = `Bad Status-Code "${code.slice(0, 20)}"`;
    else status = Number(code);
    if (!startError && (status < 100 || status > 699)) startError = `Status-Code ${status} out of range`;
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version (§7.1): exactly two single spaces; LWS in the
    // Request-URI or extra SP between elements is malformed (RFC 4475 §3.1.2.8, §3.1.2.9).
    const sp1 = startLine.indexOf(' ');
    const sp2 = sp1 < 0 ? -1 : startLine.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 < 0) {
      version = '';
      startError = 'Malformed Request-Line';
    } else {
      method = startLine.slice(0, sp1);
      uri = cut(data, head, ascii, sp1 + 1, sp2); // startLine begins at 0 of head: the same offsets
      version = startLine.slice(sp2 + 1);
      partial.method = method;
      if (!isToken(method)) startError = `Bad Method "${method.slice(0, 20)}"`;
      else if (uri.length === 0) startError = 'Malformed Request-Line: extra SP';
      else if (version.indexOf(' ') >= 0 || version.indexOf('\t') >= 0 || hasWhitespace(uri))
        startError = 'Malformed Request-Line: whitespace inside an element';
    }
  }
  if (!startError && !isSipVersionSyntax(version)) startError = `Bad SIP-Version "${version.slice(0, 20)}"`;

  // Header lines (§7.3): unfold continuation lines (LWS = [*WSP CRLF] 1*WSP, §25.1) into one value.
  const headers = new Headers();
  partial.headers = headers;
  let pos = lineEnd + 1;
  let name = '';
  let value = '';
  let contentLengths: string[] | undefined;
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    const lineStop = head.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    const first = head.charCodeAt(pos);
    if (first === 32 || first === 9) {
      if (!name) throw new SipParseError('Continuation line before any header', partial);
      const more = head.slice(pos, lineStop).trim();
      if (more) value = value ? value + ' ' + more : more;
    } else {
      if (name) contentLengths = addHeader(headers, name, value, contentLengths);
      const colon = head.indexOf(':', pos);
      if (colon < 0 || colon > lineStop) {
        throw new SipParseError(`Header line without a colon: "${head.slice(pos, Math.min(lineStop, pos + 40))}"`, partial);
      }
      name = head.slice(pos, colon).trimEnd();
      if (!isToken(name)) throw new SipParseError(`Bad header name "${name.slice(0, 40)}"`, partial);
      if (ascii) {
        let a = colon + 1;
        let b = lineStop;
        while (a < b && isAsciiSpace(head.charCodeAt(a))) a++;
        while (b > a && isAsciiSpace(head.charCodeAt(b - 1))) b--;
        value = cut(data, head, true, a, b);
      } else value = head.slice(colon + 1, lineStop).trim();
    }
    pos = nl + 1;
  }
  if (name) contentLengths = addHeader(headers, name, value, contentLengths);

  if (startError) throw new SipParseError(startError, partial);

  // Body framing (§18.3, §20.14).
  const available = data.length - bodyStart;
  let bodyLength: number;
  if (contentLengths === undefined) {
    if (stream) throw new SipParseError('Content-Length is mandatory over a stream transport (§18.3)', partial);
    bodyLength = available;
  } else {
    let n = -1;
    for (const v of contentLengths) {
      // RFC 4475 §3.1.2.3 and §3.3.9: non-numeric, negative or conflicting values leave no way to frame.
      if (!isDigits(v) || v.length > 10) throw new SipParseError(`Bad Content-Length "${v.slice(0, 20)}"`, partial);
      const k = Number(v);
      if (n >= 0 && k !== n) throw new SipParseError('Conflicting Content-Length values', partial);
      n = k;
    }
    bodyLength = n;
    if (bodyLength > available) {
      throw new SipParseError(`Body shorter than Content-Length (${available} < ${bodyLength})`, partial);
    }
  }
  const body = bodyLength === 0 ? EMPTY : data.subarray(bodyStart, bodyStart + bodyLength);

  return isResponse
    ? new SipResponse(status, reason, headers, body, version)
    : new SipRequest(method, uri, headers, body, version);
}

const EMPTY = Buffer.alloc(0);
/** Buffer's own latin1 decoder, without toString's argument handling (it runs once per header value). */
interface LatinSliceable {
  latin1Slice(start: number, end: number): string;
}

/** head[from, to) as a string of its own: from the bytes when they are ASCII (offsets agree), else a slice. */
function cut(data: Buffer, head: string, ascii: boolean, from: number, to: number): string {
  return ascii && to - from >= SLICE_MIN ? (data as unknown as LatinSliceable).latin1Slice(from, to) : head.slice(from, to);
}

/** V8 copies substrings shorter than this (SlicedString::kMinLength); longer ones would be slices. */
const SLICE_MIN = 13;

/** What String.prototype.trim removes, within ASCII: SP, HTAB, LF, VT, FF, CR. */
function isAsciiSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function addHeader(headers: Headers, name: string, value: string, cl: string[] | undefined): string[] | undefined {
  headers.append(name, value);
  if (name.length === 1 ? name === 'l' || name === 'L' : name.length === 14 && name.toLowerCase() === 'content-length') {
    (cl ??= []).push(value);
  }
  return cl;
}

function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

function hasWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9) return true;
  }
  return false;
}

/** SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (§25.1); which version is supported is the receiver's call (505). */
function isSipVersionSyntax(v: string): boolean {
  if (v.length < 7 || v.slice(0, 4).toUpperCase() !== 'SIP/') return false;
  const dot = v.indexOf('.', 4);
  return dot > 4 && isDigits(v.slice(4, dot)) && isDigits(v.slice(dot + 1));
}
