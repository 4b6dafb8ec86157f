/**
 * SIP-aware mutations (RFC 3261 §7, §25): they know about lines, header names, values, parameters,
 * Content-Length and the empty line, so that a mutated message is still close enough to SIP to reach deep
 * into the parser and the header views instead of failing at the first octet. The same ideas as the
 * RFC 4475 torture messages, generated: folding, compact forms, CRLF games, Content-Length lies, huge
 * values, unbalanced quotes and brackets, out-of-range numbers.
 *
 * Text is handled as latin1, so that every octet maps to one character and back unchanged.
 */
import type { SeededRandom } from '../../src/util/random.js';
import { BYTE_MUTATIONS, MAX_INPUT, pick, position, type Mutation } from './bytes.js';

interface Parts {
  lines: string[];
  /** What separated the header section from the body ('' when there was no empty line). */
  separator: string;
  body: string;
}

function split(input: Buffer): Parts {
  const s = input.toString('latin1');
  let i = s.indexOf('\r\n\r\n');
  let sepLength = 4;
  if (i < 0) {
    i = s.indexOf('\n\n');
    sepLength = 2;
  }
  const head = i < 0 ? s : s.slice(0, i);
  return { lines: head.split('\r\n'), separator: i < 0 ? '' : s.slice(i, i + sepLength), body: i < 0 ? '' : s.slice(i + sepLength) };
}

function join(p: Parts): Buffer {
  const text = p.lines.join('\r\n') + p.separator + p.body;
  return Buffer.from(text.length > MAX_INPUT ? text.slice(0, MAX_INPUT) : text, 'latin1');
}

/** Index of a header line (never the start line), or -1 when the message has none. */
function headerLine(p: Parts, r: SeededRandom): number {
  return p.lines.length < 2 ? -1 : 1 + r.int(p.lines.length - 1);
}

/** Strings that sit on the edges of what SIP grammars and number parsers accept. */
export const INTERESTING_STRINGS = [
  '', ' ', '\t', '0', '-1', '00', '01', '4294967295', '4294967296', '18446744073709551616', '65535', '65536', '99999',
  '99999999999999999999', '1.5', '1e3', '0x10', 'NaN', 'Infinity', '%', '%0', '%00', '%zz', '%C3%28', '"', '\\', '"\\"', '""',
  '<', '>', '<>', '<<', '[', ']', '[::1', '[::1]', '::', '[::ffff:127.0.0.1]', '[fe80::1%eth0]', '@', ':', ';', ',', '=', '?', '&',
  'sip:', 'sips:', 'tel:', 'tel:+', 'sip:@', 'sip::5060', 'sip:a@[::1]:99999', 'sip:a@b:0', 'sip:%61@b', 'urn:x', '*',
  'z9hG4bK', 'z9hG4bK' + 'a'.repeat(300), '\u00ff', '\u00c3\u0028', '\u00f0\u009f\u0098', '\x00', '\x7f', '__proto__', 'constructor',
  'toString', 'hasOwnProperty', 'ipsec-3gpp', 'Digest', 'AKAv1-MD5', 'REGISTER', 'INVITE', 'ACK', 'CANCEL',
];

const COMPACT: Record<string, string> = {
  'call-id': 'i', contact: 'm', 'content-encoding': 'e', 'content-length': 'l', 'content-type': 'c', event: 'o', from: 'f',
  subject: 's', supported: 'k', to: 't', via: 'v', 'refer-to': 'r', 'accept-contact': 'a', 'allow-events': 'u',
};
const EXPANDED: Record<string, string> = Object.fromEntries(Object.entries(COMPACT).map(([k, v]) => [v, k]));

const METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE', 'INV%56ITE', 'invite', 'X', '!'];
const VERSIONS = ['SIP/2.0', 'SIP/3.0', 'sip/2.0', 'SIP/2', 'SIP/2.0.1', 'SIP/7.0', 'SIP/', 'SIP/20.00', 'HTTP/1.1'];
const STATUSES = ['100', '180', '183', '199', '200', '202', '299', '401', '407', '420', '423', '481', '487', '494', '503', '600', '699', '000', '099', '700', '999', '2000', '20', '-1', 'abc'];
const PARAMS = [
  ';branch=', ';branch', ';branch=z9hG4bK', ';tag', ';tag=', ';tag=a;tag=b', ';received=[::1', ';received=300.1.1.1', ';rport=99999', ';rport=',
  ';rport', ';q=1.5', ';q=0.0001', ';q=', ';expires=-1', ';expires=4294967296', ';maddr=255.255.255.255', ';maddr=224.0.0.1', ';lr;lr;lr',
  ';transport=sctp', ';ttl=300', ';reg-id=0', ';+sip.instance="<urn:uuid:x>"', ';a=b=c', ';=x', ';;', ';"q"=1', ';icid-value=', ';__proto__=1',
];

/** A run of octets that is none of the SIP separators: a token, a number, a host. */
function tokenSpan(line: string, r: SeededRandom): [number, number] | undefined {
  if (line.length === 0) return undefined;
  const isSep = (c: number) => c === 32 || c === 9 || c === 58 || c === 59 || c === 44 || c === 60 || c === 62 || c === 61 || c === 34 || c === 64 || c === 47;
  let at = r.int(line.length);
  while (at < line.length && isSep(line.charCodeAt(at))) at++;
  if (at >= line.length) return undefined;
  let s = at;
  while (s > 0 && !isSep(line.charCodeAt(s - 1))) s--;
  let e = at;
  while (e < line.length && !isSep(line.charCodeAt(e))) e++;
  return [s, e];
}

function nameOf(line: string): string {
  const c = line.indexOf(':');
  return c < 0 ? '' : line.slice(0, c).trim();
}

function valueOf(line: string): string {
  const c = line.indexOf(':');
  return c < 0 ? line : line.slice(c + 1);
}

const lineDuplicate: Mutation = (input, r) => {
  const p = split(input);
  const i = headerLine(p, r);
  if (i < 0) return input;
  // Occasionally hundreds of copies: header-count limits and list handling under load.
  const n = r.float() < 0.1 ? 1 + r.int(1500) : 1;
  const copies = new Array<string>(n).fill(p.lines[i]!);
  p.lines.splice(r.float() < 0.5 ? i + 1 : 1 + r.int(p.lines.length), 0, ...copies);
  return join(p);
};

const lineRemove: Mutation = (input, r) => {
  const p = split(input);
  const i = r.float() < 0.1 ? 0 : headerLine(p, r);
  if (i < 0) return input;
  p.lines.splice(i, 1);
  return join(p);
};

const lineReorder: Mutation = (input, r) => {
  const p = split(input);
  if (p.lines.length < 3) return input;
  // Mostly headers among themselves; sometimes the start line moves too.
  const a = r.float() < 0.1 ? 0 : 1 + r.int(p.lines.length - 1);
  const b = 1 + r.int(p.lines.length - 1);
  const [moved] = p.lines.splice(a, 1);
  p.lines.splice(b, 0, moved!);
  return join(p);
};

export const lineFold: Mutation = (input, r) => {
  const p = split(input);
  const i = headerLine(p, r);
  if (i < 0) return input;
  const line = p.lines[i]!;
  const at = 1 + r.int(Math.max(1, line.length - 1));
  const ws = pick(r, [' ', '\t', '   ', ' \t ']);
  p.lines[i] = `${line.slice(0, at)}\r\n${ws}${line.slice(at)}`;
  return join(p);
};

const nameGames: Mutation = (input, r) => {
  const p = split(input);
  const i = headerLine(p, r);
  if (i < 0) return input;
  const line = p.lines[i]!;
  const name = nameOf(line);
  if (!name) return input;
  const lower = name.toLowerCase();
  let next: string;
  const roll = r.int(4);
  if (roll === 0 && COMPACT[lower]) next = COMPACT[lower]!;
  else if (roll === 0 && EXPANDED[lower]) next = EXPANDED[lower]!;
  else if (roll === 1) next = [...name].map((c) => (r.float() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
  else if (roll === 2) next = `${name}${pick(r, [' ', '\t', '  '])}`; // LWS before the colon (§7.3.1 allows it)
  else next = pick(r, ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Length', 'Content-Type', 'Route', 'Record-Route', 'Path', 'Authorization', 'WWW-Authenticate', 'Security-Client', 'Security-Verify', 'Require', 'Proxy-Require', 'Supported', 'Expires', 'P-Asserted-Identity', 'P-Charging-Vector', 'P-Visited-Network-ID', 'P-Access-Network-Info', 'Service-Route', 'Event', 'Subscription-State', 'RSeq', 'RAck', 'Accept', 'Allow', '', ' ', 'Bad Name', 'X\u00ff']);
  p.lines[i] = next + line.slice(line.indexOf(':'));
  return join(p);
};

const crlfGames: Mutation = (input, r) => {
  const s = input.toString('latin1');
  let out: string;
  switch (r.int(9)) {
    case 0:
      out = s.split('\r\n').join('\n'); // bare LF everywhere
      break;
    case 1: {
      const i = s.indexOf('\r\n', r.int(s.length + 1));
      out = i < 0 ? s : s.slice(0, i) + pick(r, ['\n', '\r', '\r\r\n', '\n\r', '\r\n\r\n', '\x00\r\n']) + s.slice(i + 2);
      break;
    }
    case 2:
      out = pick(r, ['\r\n', '\r\n\r\n', '\n', '\r\n\r\n\r\n\r\n']) + s; // keep-alives before the start line (§7.5)
      break;
    case 3:
      out = s + pick(r, ['\r\n', '\r\n\r\n', '\n\n', '\r']);
      break;
    case 4:
      out = s.replace('\r\n\r\n', '\r\n'); // no empty line: the body becomes headers
      break;
    case 5: {
      const at = position(r, s.length);
      out = s.slice(0, at) + '\r\n\r\n' + s.slice(at); // the header section ends early
      break;
    }
    case 6:
      out = s.split('\r\n').join('\r'); // classic Mac line ends
      break;
    case 7: {
      const at = position(r, s.length);
      out = s.slice(0, at) + '\r\n' + pick(r, [' ', '\t', '']) + s.slice(at); // a stray line break, maybe a fold
      break;
    }
    default:
      out = s.replace(/\r\n$/, '') ; // last line without its end
  }
  return Buffer.from(out.slice(0, MAX_INPUT), 'latin1');
};

export const contentLengthLie: Mutation = (input, r) => {
  const p = split(input);
  const real = p.body.length;
  const lies = ['0', String(real - 1), String(real + 1), String(real * 2 + 7), '4294967295', '4294967296', '99999999999', '-1', '', ' 12 ', '1e3', '0x10', '00000000000012', 'abc', `${real} ${real}`, `${real},${real + 1}`, String(real), '9999999', '1048577'];
  const lie = pick(r, lies);
  const idx = p.lines.findIndex((l, k) => k > 0 && /^(content-length|l)\s*:/i.test(l));
  switch (r.int(4)) {
    case 0:
      if (idx >= 0) p.lines.splice(idx, 1);
      else p.lines.push(`Content-Length: ${lie}`);
      break;
    case 1:
      p.lines.push(`${pick(r, ['Content-Length', 'l', 'content-length', 'CONTENT-LENGTH'])}: ${lie}`); // a second, perhaps conflicting, one
      break;
    default:
      if (idx >= 0) p.lines[idx] = `${nameOf(p.lines[idx]!)}: ${lie}`;
      else p.lines.push(`Content-Length: ${lie}`);
  }
  return join(p);
};

const hugeValue: Mutation = (input, r) => {
  const p = split(input);
  const i = r.float() < 0.1 ? 0 : headerLine(p, r);
  if (i < 0) return input;
  const unit = pick(r, ['a', ';p=v', ',<sip:a@b>', ', x', '"', '<', '%', '\\', ' ', ';lr', 'z9hG4bK', '%41', '[', ',', '=', ';tag=x', '"a",']);
  const n = r.float() < 0.5 ? 50 + r.int(2000) : 1000 + r.int(60_000 / unit.length);
  const long = unit.repeat(n);
  const line = p.lines[i]!;
  if (i === 0) {
    const sp = line.indexOf(' ');
    p.lines[0] = sp < 0 ? line + long : line.slice(0, sp + 1) + long + line.slice(sp + 1);
  } else {
    const colon = line.indexOf(':');
    const v = valueOf(line);
    const at = r.int(v.length + 1);
    p.lines[i] = `${line.slice(0, colon + 1)}${v.slice(0, at)}${long}${r.float() < 0.5 ? v.slice(at) : ''}`;
  }
  return join(p);
};

const tokenReplace: Mutation = (input, r) => {
  const p = split(input);
  const i = r.float() < 0.2 ? 0 : headerLine(p, r);
  if (i < 0) return input;
  const line = p.lines[i]!;
  const span = tokenSpan(line, r);
  if (!span) return input;
  p.lines[i] = line.slice(0, span[0]) + pick(r, INTERESTING_STRINGS) + line.slice(span[1]);
  return join(p);
};

const startLineGames: Mutation = (input, r) => {
  const p = split(input);
  const parts = p.lines[0]!.split(' ');
  const isResponse = parts[0]!.toUpperCase().startsWith('SIP/');
  switch (r.int(5)) {
    case 0:
      if (isResponse) parts[1] = pick(r, STATUSES);
      else parts[0] = pick(r, METHODS);
      break;
    case 1:
      if (isResponse) parts[0] = pick(r, VERSIONS);
      else parts[parts.length - 1] = pick(r, VERSIONS);
      break;
    case 2:
      if (!isResponse && parts.length > 1) parts[1] = pick(r, INTERESTING_STRINGS.filter((s) => s.includes(':') || s === '*')) + (r.float() < 0.5 ? '' : parts[1]!);
      else parts.push(pick(r, ['', 'extra', '\t']));
      break;
    case 3:
      parts.splice(1 + r.int(parts.length), 0, ''); // doubled SP
      break;
    default:
      p.lines[0] = isResponse ? `SIP/2.0 ${pick(r, STATUSES)}` : `${pick(r, METHODS)} sip:x SIP/2.0`; // a fresh start line on old headers
      return join(p);
  }
  p.lines[0] = parts.join(' ');
  return join(p);
};

const paramGames: Mutation = (input, r) => {
  const p = split(input);
  const i = headerLine(p, r);
  if (i < 0) return input;
  const line = p.lines[i]!;
  const param = pick(r, PARAMS);
  // At the end of the value, or inside it (which may put it in a URI instead of the header).
  const at = r.float() < 0.6 ? line.length : line.indexOf(':') + 1 + r.int(Math.max(1, line.length - line.indexOf(':')));
  p.lines[i] = line.slice(0, at) + param + line.slice(at);
  return join(p);
};

const bodyGames: Mutation = (input, r, ctx) => {
  const p = split(input);
  if (!p.separator) p.separator = '\r\n\r\n';
  switch (r.int(4)) {
    case 0:
      p.body = split(ctx.other()).body;
      break;
    case 1:
      p.body += r.bytes(1 + r.int(64)).toString('latin1');
      break;
    case 2:
      p.body = p.body.slice(0, r.int(p.body.length + 1));
      break;
    default: {
      const idx = p.lines.findIndex((l, k) => k > 0 && /^(content-type|c)\s*:/i.test(l));
      const type = pick(r, ['application/sdp', 'multipart/mixed;boundary=x', 'multipart/mixed', 'application/reginfo+xml', 'text/plain', 'message/sipfrag', 'application/', '/', 'a/b;c', 'application/sdp;charset="']);
      if (idx >= 0) p.lines[idx] = `Content-Type: ${type}`;
      else p.lines.push(`Content-Type: ${type}`);
    }
  }
  return join(p);
};

export const SIP_MUTATIONS: readonly Mutation[] = [
  lineDuplicate, lineRemove, lineReorder, lineFold, nameGames, crlfGames, contentLengthLie, hugeValue, tokenReplace, tokenReplace,
  startLineGames, paramGames, paramGames, bodyGames,
];

/** The mutations for SIP messages: the SIP-aware ones twice as often as the format-blind ones. */
export const SIP_MESSAGE_MUTATIONS: readonly Mutation[] = [...SIP_MUTATIONS, ...SIP_MUTATIONS, ...BYTE_MUTATIONS];

const textTokenReplace: Mutation = (input, r) => {
  const s = input.toString('latin1');
  const span = tokenSpan(s, r);
  if (!span) return Buffer.from(pick(r, INTERESTING_STRINGS), 'latin1');
  return Buffer.from(s.slice(0, span[0]) + pick(r, INTERESTING_STRINGS) + s.slice(span[1]), 'latin1');
};

const textInsert: Mutation = (input, r) => {
  const s = input.toString('latin1');
  const at = position(r, s.length);
  const what = r.float() < 0.8 ? pick(r, INTERESTING_STRINGS.concat(PARAMS)) : pick(r, ['a', ';x', '%41', ':', '@', '\r\n']).repeat(100 + r.int(5000));
  return Buffer.from((s.slice(0, at) + what + s.slice(at)).slice(0, MAX_INPUT), 'latin1');
};

/** For single values (URIs) and line-oriented bodies (SDP): token games plus the format-blind ones. */
export const TEXT_MUTATIONS: readonly Mutation[] = [textTokenReplace, textTokenReplace, textInsert, textInsert, lineDuplicate, lineRemove, crlfGames, ...BYTE_MUTATIONS];
