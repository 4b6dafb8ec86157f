import { describe, expect, it } from 'vitest';
import { Headers } from '../../../src/sip/message.js';
import { parseVia } from '../../../src/sip/headers/via.js';
import { SipParseError } from '../../../src/sip/parser.js';
import { badRequest, isOwnSentBy, responseDestination, stampReceived } from '../../../src/sip/transport/inbound.js';

const src = { transport: 'udp' as const, address: '127.0.20.3', port: 40000 };

describe('§18.2.1 / RFC 3581 Via stamping', () => {
  it('compares IPv6 sent-by in canonical form and stamps only what differs', () => {
    const h = new Headers().append('Via', 'SIP/2.0/UDP [0:0:0:0:0:0:0:1]:5060;branch=z9hG4bK-6');
    stampReceived(h, { transport: 'udp', address: '::1', port: 5060 });
    expect(h.get('Via')).toBe('SIP/2.0/UDP [0:0:0:0:0:0:0:1]:5060;branch=z9hG4bK-6');
  });

  it('fills rport and received even when the address matches, keeping the other Vias', () => {
    const h = new Headers().append('Via', 'SIP/2.0/UDP 127.0.20.3:5060;rport;branch=z9hG4bK-1, SIP/2.0/UDP 127.0.9.9;branch=z9hG4bK-0');
    stampReceived(h, src);
    expect(h.list('Via')).toEqual([
      'SIP/2.0/UDP 127.0.20.3:5060;rport=40000;branch=z9hG4bK-1;received=127.0.20.3',
      'SIP/2.0/UDP 127.0.9.9;branch=z9hG4bK-0',
    ]);
  });

  it('throws on an unreadable Via and leaves the headers unchanged', () => {
    const h = new Headers().append('Via', 'garbage');
    expect(() => stampReceived(h, src)).toThrow(SipParseError);
    expect(h.get('Via')).toBe('garbage');
  });
});

describe('§18.2.2 response destination', () => {
  it('uses received and rport over UDP, maddr when given, and the sent-by port over TCP', () => {
    expect(responseDestination(parseVia('SIP/2.0/UDP host.invalid:5070;received=127.0.0.5;rport=3000'))).toEqual({
      transport: 'udp', address: '127.0.0.5', port: 3000,
    });
    expect(responseDestination(parseVia('SIP/2.0/UDP 127.0.0.5;maddr=127.0.0.6'))).toEqual({
      transport: 'udp', address: '127.0.0.6', port: 5060,
    });
    expect(responseDestination(parseVia('SIP/2.0/TCP host.invalid:5070;received=127.0.0.5;rport=3000'))).toEqual({
      transport: 'tcp', address: '127.0.0.5', port: 5070,
    });
    expect(responseDestination(parseVia('SIP/2.0/TLS [::1]'))).toEqual({ transport: 'tls', address: '::1', port: 5061 });
    expect(responseDestination(parseVia('SIP/2.0/UDP host.invalid:5070'))).toBeUndefined();
    expect(responseDestination(parseVia('SIP/2.0/SCTP 127.0.0.5'))).toBeUndefined();
  });
});

describe('§18.1.2 own sent-by', () => {
  const own = { hosts: ['127.0.1.1', 'pcscf.ims.example.org'], ports: { udp: 5060, tcp: 5060, tls: 5061 } };
  it('accepts its address or name at one of its ports, default ports included', () => {
    expect(isOwnSentBy(parseVia('SIP/2.0/UDP 127.0.1.1:5060'), own)).toBe(true);
    expect(isOwnSentBy(parseVia('SIP/2.0/UDP PCSCF.ims.example.org'), own)).toBe(true);
    expect(isOwnSentBy(parseVia('SIP/2.0/TLS 127.0.1.1'), own)).toBe(true);
    expect(isOwnSentBy(parseVia('SIP/2.0/UDP 127.0.1.2:5060'), own)).toBe(false);
    expect(isOwnSentBy(parseVia('SIP/2.0/UDP 127.0.1.1:5070'), own)).toBe(false);
  });
});

describe('400 for unparseable requests (§8.2.6)', () => {
  const headers = () =>
    new Headers()
      .append('Via', 'SIP/2.0/UDP 127.0.20.3:5060;branch=z9hG4bK-1')
      .append('From', '<sip:a@x>;tag=1')
      .append('To', '<sip:b@x>;tag=keep')
      .append('Call-ID', 'c')
      .append('CSeq', '7 INVITE');
  it('keeps an existing To tag and strips control characters from the reason', () => {
    const r = badRequest({ kind: 'request', method: 'INVITE', headers: headers() }, 'Bad\r\nthing "x"', src, '127.0.1.1:5060', () => 'new');
    expect(r?.status).toBe(400);
    expect(r?.reason).toBe('Bad Request (Bad  thing "x")');
    expect(r?.headers.get('To')).toBe('<sip:b@x>;tag=keep');
    expect(r?.headers.get('Warning')).toBe('399 127.0.1.1:5060 "Bad  thing \\"x\\""');
  });
  it('gives nothing for responses, ACKs or when an essential header is missing', () => {
    expect(badRequest({ kind: 'response', headers: headers() }, 'x', src, 'a', () => 't')).toBeUndefined();
    expect(badRequest({ kind: 'request', method: 'ACK', headers: headers() }, 'x', src, 'a', () => 't')).toBeUndefined();
    const h = headers();
    h.delete('Call-ID');
    expect(badRequest({ kind: 'request', method: 'INVITE', headers: h }, 'x', src, 'a', () => 't')).toBeUndefined();
  });
});
