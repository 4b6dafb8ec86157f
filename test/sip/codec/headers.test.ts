import { describe, expect, it } from 'vitest';
import { parseUri, formatUri, uriEquals, type SipUri, type TelUri } from '../../../src/sip/uri.js';
import { parseVia, formatVia, topVia } from '../../../src/sip/headers/via.js';
import { parseCSeq, formatCSeq } from '../../../src/sip/headers/cseq.js';
import { parseNameAddr, formatNameAddr, fromTag, toTag } from '../../../src/sip/headers/name-addr.js';
import { parseContacts } from '../../../src/sip/headers/contact.js';
import { parseCredentials, formatCredentials, parseChallenge, formatChallenge } from '../../../src/sip/headers/auth.js';
import { parseSecurityMechanisms, formatSecurityMechanisms, ipsecParams } from '../../../src/sip/headers/security.js';
import { parsePChargingVector, parseContentType, parseOptionTags, maxForwardsOf, parsePAccessNetworkInfo, parsePVisitedNetworkId } from '../../../src/sip/headers/p-headers.js';
import { callId, cseqOf } from '../../../src/sip/headers/accessors.js';
import { Headers } from '../../../src/sip/message.js';
import { parseMessage, SipParseError } from '../../../src/sip/parser.js';
import { REGISTER } from '../../../bench/sip-codec.js';

describe('URIs', () => {
  it('takes a SIP URI apart, with IPv6, escapes, params and headers, and formats it back', () => {
    const u = parseUri('sips:al%20ice:pw@[2001:db8::1]:5061;transport=tcp;lr;maddr=[::1]?Subject=hi%20there&Priority=urgent') as SipUri;
    expect(u).toMatchObject({ scheme: 'sips', user: 'al ice', password: 'pw', host: '[2001:db8::1]', port: 5061 });
    expect([...u.params]).toEqual([['transport', 'tcp'], ['lr', null], ['maddr', '[::1]']]);
    expect(u.headers.get('Subject')).toBe('hi there');
    expect(formatUri(u)).toBe('sips:al%20ice:pw@[2001:db8::1]:5061;transport=tcp;lr;maddr=[::1]?Subject=hi%20there&Priority=urgent');
  });

  it('keeps ; and = in the user part (RFC 4475 §3.1.1.9) and parses tel URIs', () => {
    expect((parseUri('sip:user;par=u%40example.net@example.com') as SipUri).user).toBe('user;par=u@example.net');
    const t = parseUri('tel:+1-201-555-0123;phone-context=example.com') as TelUri;
    expect(t).toMatchObject({ scheme: 'tel', number: '+1-201-555-0123' });
    expect(t.params.get('phone-context')).toBe('example.com');
    expect(uriEquals(t, parseUri('tel:+12015550123;PHONE-CONTEXT=Example.com'))).toBe(true);
  });

  it('returns other schemes raw and rejects malformed URIs', () => {
    expect(parseUri('urn:service:sos')).toEqual({ scheme: 'urn', raw: 'urn:service:sos' });
    for (const bad of ['sip:', 'sip:a@', 'sip:a b@c', 'sip:h:99999', 'sip:a@[::1', 'sip:%zz@h', '<sip:a@b>', 'sip:h;;lr']) {
      expect(() => parseUri(bad), bad).toThrow(SipParseError);
    }
  });

  it('compares URIs per RFC 3261 §19.1.4', () => {
    const eq = (a: string, b: string) => uriEquals(parseUri(a), parseUri(b));
    expect(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp')).toBe(true);
    expect(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(eq('sip:alice@atlanta.com', 'sip:ALICE@atlanta.com')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060')).toBe(false);
    expect(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;user=phone')).toBe(false);
    expect(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off')).toBe(false);
    expect(eq('sip:carol@chicago.com?Subject=next%20meeting', 'sip:carol@chicago.com')).toBe(false);
    expect(eq('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com')).toBe(true);
  });
});

describe('Via, CSeq, name-addr', () => {
  it('parses Via with LWS around the slashes, rport and received', () => {
    const v = parseVia('SIP  /   2.0 /udp   [::1] : 5062 ; branch = z9hG4bK1 ;rport; received=10.0.0.1');
    expect(v).toMatchObject({ protocol: 'SIP/2.0', transport: 'UDP', host: '[::1]', port: 5062, branch: 'z9hG4bK1', rport: null, received: '10.0.0.1' });
    v.rport = 5062;
    v.received = '127.0.0.1';
    expect(formatVia(v)).toBe('SIP/2.0/UDP [::1]:5062;branch=z9hG4bK1;rport=5062;received=127.0.0.1');
    for (const bad of ['SIP/2.0/UDP', 'SIP/2.0 h', 'SIP/2.0/UDP h;;', 'SIP/2.0/UDP h:70000', 'SIP/2.0/UDP h;branch']) expect(() => parseVia(bad), bad).toThrow(SipParseError);
  });

  it('parses CSeq with leading zeros and refuses 2**32', () => {
    expect(parseCSeq(' 0009  INVITE')).toEqual({ seq: 9, method: 'INVITE' });
    expect(formatCSeq({ seq: 4294967295, method: 'BYE' })).toBe('4294967295 BYE');
    expect(() => parseCSeq('4294967296 BYE')).toThrow(/range/);
    expect(() => parseCSeq('1INVITE')).toThrow(SipParseError);
  });

  it('gives params after a bare URI to the header (§20.10) and handles quoted and token display names', () => {
    const bare = parseNameAddr('sip:bob@x.com ;   tag    = 1918 ;lr');
    expect(bare).toMatchObject({ uri: 'sip:bob@x.com', tag: '1918' });
    expect(bare.params.has('lr')).toBe(true);
    expect(parseNameAddr('"J Rosenberg \\\\\\"" <sip:j@x>;tag=9')).toMatchObject({ displayName: 'J Rosenberg \\"', uri: 'sip:j@x', tag: '9' });
    expect(parseNameAddr('caller<sip:c@x>')).toMatchObject({ displayName: 'caller', uri: 'sip:c@x' });
    expect(formatNameAddr({ displayName: 'Doe, John', uri: 'sip:j@h', params: new Map([['expires', '60']]), tag: 'a' })).toBe('"Doe, John" <sip:j@h>;expires=60;tag=a');
    for (const bad of ['"unterminated <sip:a@b>', 'Bell, Alexander <sip:a@b>', '< sip:a@b >', 'sip:a@b?Route=x', '<sip:a@b']) expect(() => parseNameAddr(bad), bad).toThrow(SipParseError);
  });

  it('offers callId, cseqOf, fromTag, toTag and topVia on a message', () => {
    const m = parseMessage(REGISTER);
    expect(callId(m)).toBe('1719234012-2394@10.45.0.2');
    expect(cseqOf(m)).toEqual({ seq: 2, method: 'REGISTER' });
    expect(fromTag(m)).toBe('1946210418');
    expect(toTag(m)).toBeUndefined();
    expect(topVia(m)).toMatchObject({ host: '10.45.0.2', port: 5062, rport: 5062, received: '10.45.0.2' });
  });
});

describe('Contact, auth, security, P-headers', () => {
  it('reads Contact expires, q, +sip.instance, reg-id and the wildcard', () => {
    const h = Headers.from([['Contact', '<sip:a@h;ob>;expires=600;q=0.7;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>";reg-id=1, <sip:b@h>;expires=99999999999']]);
    const [a, b] = parseContacts(h) as Exclude<ReturnType<typeof parseContacts>, '*'>;
    expect(a).toMatchObject({ uri: 'sip:a@h;ob', expires: 600, q: 0.7, instance: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>', regId: 1 });
    expect(b!.expires).toBeUndefined();
    expect(parseContacts(Headers.from([['Contact', '*']]))).toBe('*');
    expect(() => parseContacts(Headers.from([['Contact', '<sip:a@h>;q=2']]))).toThrow(SipParseError);
  });

  it('round-trips AKA credentials with auts and a challenge with ck/ik', () => {
    const c = parseCredentials('Digest username="u@ims", realm="ims", nonce="bm9uY2U=", uri="sip:ims", response="", algorithm=AKAv1-MD5, auts="YXV0cw==", qop=auth, nc=00000001, cnonce="x"');
    expect(c).toMatchObject({ scheme: 'Digest', username: 'u@ims', response: '', auts: 'YXV0cw==', nc: '00000001', qop: 'auth', algorithm: 'AKAv1-MD5' });
    expect(parseCredentials(formatCredentials(c))).toEqual(c);
    const ch = parseChallenge('Digest realm="ims", nonce="n", algorithm=AKAv1-MD5, qop="auth,auth-int", ck="00112233", ik="44556677", stale=TRUE');
    expect(ch).toMatchObject({ qop: ['auth', 'auth-int'], ck: '00112233', ik: '44556677', stale: true });
    expect(formatChallenge(ch)).toBe('Digest realm="ims", nonce="n", algorithm=AKAv1-MD5, qop="auth,auth-int", ck="00112233", ik="44556677", stale=TRUE');
    expect(() => parseCredentials('Digest username="unterminated')).toThrow(SipParseError);
  });

  it('reads ipsec-3gpp Security-Client parameters (TS 33.203 §7.2)', () => {
    const ms = parseSecurityMechanisms(['ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=3929102;spi-s=3929103;port-c=5063;port-s=5062;prot=esp;mod=trans, digest;q=0.1']);
    expect(ms.map((m) => m.mechanism)).toEqual(['ipsec-3gpp', 'digest']);
    expect(ipsecParams(ms[0]!)).toEqual({ alg: 'hmac-sha-1-96', ealg: 'null', spiC: 3929102, spiS: 3929103, portC: 5063, portS: 5062, prot: 'esp', mod: 'trans' });
    expect(formatSecurityMechanisms(ms)).toBe('ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=3929102;spi-s=3929103;port-c=5063;port-s=5062;prot=esp;mod=trans, digest;q=0.1');
    expect(() => ipsecParams(parseSecurityMechanisms(['ipsec-3gpp;port-c=70000'])[0]!)).toThrow(SipParseError);
  });

  it('reads P-Charging-Vector, P-Access-Network-Info, P-Visited-Network-ID, option tags, Content-Type, Max-Forwards', () => {
    expect(parsePChargingVector('icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";orig-ioi=home1.net')).toMatchObject({ icidValue: 'AyretyU0dm+6O2IrT5tAFrbHLso=023551024', origIoi: 'home1.net' });
    expect(() => parsePChargingVector('orig-ioi=x')).toThrow(/icid-value/);
    expect(parsePAccessNetworkInfo('3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=0010100010019B01').params.get('utran-cell-id-3gpp')).toBe('0010100010019B01');
    expect(parsePVisitedNetworkId(Headers.from([['P-Visited-Network-ID', 'other.net, "Visited network number 1"']])).map((v) => v.network)).toEqual(['other.net', 'Visited network number 1']);
    const h = Headers.from([['Require', 'sec-agree, path'], ['Require', '100rel'], ['Max-Forwards', '256']]);
    expect(parseOptionTags(h, 'Require')).toEqual(['sec-agree', 'path', '100rel']);
    expect(() => maxForwardsOf(h)).toThrow(/0\.\.255/);
    expect(parseContentType('Multipart/Mixed ; boundary="b 1"')).toMatchObject({ type: 'multipart', subtype: 'mixed' });
  });
});
