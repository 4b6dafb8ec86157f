import { describe, expect, it } from 'vitest';
import { SipRequest, SipResponse, Headers } from '../../../src/sip/message.js';
import { parseMessage, SipParseError } from '../../../src/sip/parser.js';
import { serializeMessage } from '../../../src/sip/serializer.js';
import { REGISTER, INVITE } from '../../../bench/sip-codec.js';

const wire = (lines: string[], body = '') => Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body, 'utf8');

function parseError(bytes: Buffer, opts?: Parameters<typeof parseMessage>[1]): SipParseError {
  try {
    parseMessage(bytes, opts);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('expected a SipParseError');
}

const BASE = [
  'OPTIONS sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc',
  'From: <sip:alice@example.com>;tag=1',
  'To: <sip:bob@example.com>',
  'Call-ID: c1@127.0.0.1',
  'CSeq: 1 OPTIONS',
  'Max-Forwards: 70',
];

describe('parseMessage', () => {
  it('reads a request line, headers in order and the body', () => {
    const m = parseMessage(wire([...BASE, 'Content-Type: text/plain', 'Content-Length: 5'], 'hello'));
    expect(m).toBeInstanceOf(SipRequest);
    const r = m as SipRequest;
    expect([r.method, r.uri, r.version]).toEqual(['OPTIONS', 'sip:bob@example.com', 'SIP/2.0']);
    expect([...r.headers.entries()].map(([n]) => n)).toEqual(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Type', 'Content-Length']);
    expect(r.body.toString()).toBe('hello');
  });

  it('reads a status line, including an empty and a UTF-8 reason phrase', () => {
    const a = parseMessage(Buffer.from('SIP/2.0 180 \r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n')) as SipResponse;
    expect([a.status, a.reason]).toEqual([180, '']);
    const b = parseMessage(Buffer.from('SIP/2.0 200 Хорошо\r\nContent-Length: 0\r\n\r\n')) as SipResponse;
    expect(b.reason).toBe('Хорошо');
  });

  it('expands compact forms and matches names case-insensitively', () => {
    const m = parseMessage(wire(['INVITE sip:b@example.com SIP/2.0', 'v: SIP/2.0/UDP h;branch=z9hG4bK1', 'f: <sip:a@x>;tag=1', 't: <sip:b@x>', 'i: abc', 'CSEQ: 1 INVITE', 'm: <sip:a@h>', 'c: application/sdp', 'k: 100rel', 'l: 3'], 'v=0'));
    expect(m.headers.get('Via')).toBe('SIP/2.0/UDP h;branch=z9hG4bK1');
    expect(m.headers.get('call-id')).toBe('abc');
    expect(m.headers.get('Supported')).toBe('100rel');
    expect([...m.headers.entries()].map(([n]) => n)).toEqual(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Content-Type', 'Supported', 'Content-Length']);
    expect(serializeMessage(m).toString()).toContain('\r\nContent-Type: application/sdp\r\n');
  });

  it('unfolds continuation lines into one value', () => {
    const m = parseMessage(wire(['OPTIONS sip:b@x SIP/2.0', 'Subject: first', ' second', '\tthird', 'Route:', '  <sip:p@x;lr>', 'l: 0']));
    expect(m.headers.get('Subject')).toBe('first second third');
    expect(m.headers.get('Route')).toBe('<sip:p@x;lr>');
  });

  it('keeps unknown headers verbatim and quoted commas in one list element', () => {
    const m = parseMessage(wire([...BASE, 'X-Weird_Header: ;;,,;;,;', 'Contact: "Doe, John" <sip:j@h>, <sip:k@h>;q=0.5', 'Content-Length: 0']));
    expect(m.headers.get('x-weird_header')).toBe(';;,,;;,;');
    expect(m.headers.list('Contact')).toEqual(['"Doe, John" <sip:j@h>', '<sip:k@h>;q=0.5']);
    expect(serializeMessage(m).toString()).toContain('\r\nX-Weird_Header: ;;,,;;,;\r\n');
  });

  it('over a datagram: no Content-Length means the rest, extra octets are cut (§18.3)', () => {
    expect(parseMessage(wire(BASE, 'abc')).body.toString()).toBe('abc');
    expect(parseMessage(wire([...BASE, 'Content-Length: 2'], 'abcdef')).body.toString()).toBe('ab');
  });

  it('rejects a body shorter than Content-Length, a negative or conflicting one, with a partial for the 400', () => {
    const e = parseError(wire([...BASE, 'Content-Length: 10'], 'abc'));
    expect(e.reason).toMatch(/shorter/);
    expect(e.partial?.kind).toBe('request');
    expect(e.partial?.method).toBe('OPTIONS');
    expect(e.partial?.headers?.get('Call-ID')).toBe('c1@127.0.0.1');
    expect(parseError(wire([...BASE, 'Content-Length: -1'])).reason).toMatch(/Content-Length/);
    expect(parseError(wire([...BASE, 'Content-Length: five'])).reason).toMatch(/Content-Length/);
    expect(parseError(wire([...BASE, 'Content-Length: 1', 'l: 2'], 'ab')).reason).toMatch(/Conflicting/);
  });

  it('over a stream: Content-Length is mandatory', () => {
    expect(parseError(wire(BASE, ''), { transport: 'stream' }).reason).toMatch(/mandatory/);
  });

  it('rejects malformed start lines and header lines with clear reasons', () => {
    expect(parseError(Buffer.from('INVITE  sip:a@b SIP/2.0\r\n\r\n')).reason).toMatch(/Request-Line/);
    expect(parseError(Buffer.from('INVITE sip:a@b\r\n\r\n')).reason).toMatch(/Request-Line/);
    expect(parseError(Buffer.from('SIP/2.0 20 OK\r\n\r\n')).partial?.kind).toBe('response');
    expect(parseError(wire([...BASE, 'No colon here'])).reason).toMatch(/colon/);
    expect(parseError(wire([...BASE, 'Bad Name: x'])).reason).toMatch(/header name/);
    expect(parseError(Buffer.alloc(0)).reason).toMatch(/Empty/);
    expect(parseError(Buffer.from('\r\n\r\n')).reason).toMatch(/Empty/);
  });

  it('never throws anything but SipParseError on random bytes', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const alphabet = Buffer.from('INVITE SIP/2.0 sip:@;=<>"\\,:\r\n\t Content-Length: 0123456789 Via v l');
    for (let n = 0; n < 3000; n++) {
      const len = next() % 200;
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = next() % 3 === 0 ? next() % 256 : alphabet[next() % alphabet.length]!;
      try {
        parseMessage(b);
      } catch (e) {
        expect(e).toBeInstanceOf(SipParseError);
      }
    }
  });
});

describe('header values cut from the bytes', () => {
  const message = (contact: Buffer) =>
    Buffer.concat([
      Buffer.from('OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKab1\r\nCall-ID: a-long-call-id@192.0.2.1\r\nContact:'),
      contact,
      Buffer.from('<sip:caller@host36.example.net>\r\nCSeq: 1 OPTIONS\r\n\r\n'),
    ]);

  it('give the same values as the text would, and survive a serialize/parse round trip', () => {
    const m = parseMessage(message(Buffer.from(' ')));
    expect(m.headers.get('Contact')).toBe('<sip:caller@host36.example.net>');
    expect(m.headers.get('Call-ID')).toBe('a-long-call-id@192.0.2.1');
    expect((m as SipRequest).uri).toBe('sip:bob@example.com');
  });

  it('fall back to the decoded text when a byte is not ASCII, even one that keeps the length (invalid UTF-8, fuzz finding)', () => {
    // 0xA0 alone is not UTF-8: it decodes to one U+FFFD, so the text has as many characters as the bytes.
    const once = parseMessage(message(Buffer.from([0xa0])));
    const twice = parseMessage(serializeMessage(once));
    expect(once.headers.get('Contact')).toBe('\uFFFD<sip:caller@host36.example.net>');
    expect(twice.headers.get('Contact')).toBe(once.headers.get('Contact'));
  });
});

describe('serializeMessage', () => {
  it('writes CRLF lines, canonical names and a Content-Length equal to the body', () => {
    const h = Headers.from([['v', 'SIP/2.0/TCP h;branch=z9hG4bK1'], ['call-id', 'x'], ['content-length', '99']]);
    const out = serializeMessage(new SipRequest('MESSAGE', 'sip:a@b', h, Buffer.from('hi'))).toString();
    expect(out).toBe('MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: x\r\nContent-Length: 2\r\n\r\nhi');
    const resp = serializeMessage(new SipResponse(200, 'OK')).toString();
    expect(resp).toBe('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n');
  });

  it('round-trips: parse → serialize → parse gives the same message and the same bytes', () => {
    for (const raw of [REGISTER, INVITE]) {
      const a = parseMessage(raw);
      const bytes = serializeMessage(a);
      expect(bytes.equals(raw)).toBe(true);
      const b = parseMessage(bytes);
      expect([...b.headers.entries()]).toEqual([...a.headers.entries()]);
      expect(b.body.equals(a.body)).toBe(true);
    }
  });

  it('keeps a binary multipart body byte for byte', () => {
    const body = Buffer.concat([Buffer.from('--b\r\nContent-Type: application/octet-stream\r\n\r\n'), Buffer.from([0, 1, 255, 13, 10, 13, 10, 0]), Buffer.from('\r\n--b--\r\n')]);
    const m = new SipRequest('MESSAGE', 'sip:a@b', Headers.from([['Content-Type', 'multipart/mixed;boundary=b']]), body);
    const back = parseMessage(serializeMessage(m), { transport: 'stream' });
    expect(back.body.equals(body)).toBe(true);
  });
});
