/**
 * Parse + serialize throughput of the SIP codec on a realistic IMS REGISTER (~900 bytes: Authorization with
 * AKA, Security-Client, Path, P-headers) and an INVITE with SDP (~1.5 KB). One core, one loop, no I/O.
 * Run alone: `npx tsx bench/sip-codec.ts [seconds]`.
 */
import { parseMessage } from '../src/sip/parser.js';
import { serializeMessage } from '../src/sip/serializer.js';

const crlf = (lines: string[], body = '') => Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body);

export const REGISTER = crlf([
  'REGISTER sip:ims.example.net SIP/2.0',
  'Via: SIP/2.0/UDP 10.45.0.2:5062;received=10.45.0.2;rport=5062;branch=z9hG4bK1838295624',
  'Path: <sip:term@pcscf.ims.example.net;lr>',
  'Max-Forwards: 69',
  'From: <sip:001010000000001@ims.example.net>;tag=1946210418',
  'To: <sip:001010000000001@ims.example.net>',
  'Call-ID: 1719234012-2394@10.45.0.2',
  'CSeq: 2 REGISTER',
  'Contact: <sip:001010000000001@10.45.0.2:5062>;expires=600000;+sip.instance="<urn:gsma:imei:35622500-430210-0>"',
  'Authorization: Digest username="001010000000001@ims.example.net", realm="ims.example.net", nonce="Wb2QvkxUNy6Kxl0X3x9fDfIUuBpCEQAAfSSoT4oDTYE=", uri="sip:ims.example.net", response="6f29bcd7b4c0d5c1c2a8d9e3f0a1b2c3", algorithm=AKAv1-MD5, cnonce="0a4f113b", qop=auth, nc=00000001',
  'Security-Client: ipsec-3gpp;alg=hmac-sha-1-96;ealg=null;spi-c=3929102;spi-s=3929103;port-c=5063;port-s=5062;prot=esp;mod=trans',
  'Require: sec-agree',
  'Supported: path, gruu, sec-agree',
  'P-Access-Network-Info: 3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=0010100010019B01',
  'P-Charging-Vector: icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";orig-ioi=ims.example.net',
  'Content-Length: 0',
]);

const SDP = [
  'v=0', 'o=- 3849302913 3849302913 IN IP4 10.45.0.2', 's=-', 'c=IN IP4 10.45.0.2', 't=0 0',
  'm=audio 49170 RTP/AVP 116 107 97 111 110', 'b=AS:49', 'b=RS:0', 'b=RR:2500',
  'a=rtpmap:116 AMR-WB/16000/1', 'a=fmtp:116 mode-change-capability=2;max-red=0',
  'a=rtpmap:107 AMR-WB/16000/1', 'a=fmtp:107 octet-align=1;mode-change-capability=2;max-red=0',
  'a=rtpmap:97 AMR/8000/1', 'a=fmtp:97 mode-change-capability=2;max-red=0',
  'a=rtpmap:111 telephone-event/16000', 'a=fmtp:111 0-15', 'a=rtpmap:110 telephone-event/8000', 'a=fmtp:110 0-15',
  'a=ptime:20', 'a=maxptime:240', 'a=curr:qos local none', 'a=curr:qos remote none',
  'a=des:qos mandatory local sendrecv', 'a=des:qos optional remote sendrecv', 'a=sendrecv', '',
].join('\r\n');

export const INVITE = crlf([
  'INVITE tel:+15551230002;phone-context=ims.example.net SIP/2.0',
  'Via: SIP/2.0/UDP 10.45.0.2:5062;branch=z9hG4bK3794201847;rport',
  'Max-Forwards: 70',
  'Route: <sip:10.45.0.1:5063;lr>',
  'Route: <sip:orig@scscf.ims.example.net:6060;lr>',
  'From: <sip:001010000000001@ims.example.net>;tag=2084839192',
  'To: <tel:+15551230002;phone-context=ims.example.net>',
  'Call-ID: 3848203911-2211@10.45.0.2',
  'CSeq: 1 INVITE',
  'Contact: <sip:001010000000001@10.45.0.2:5062>;+g.3gpp.icsi-ref="urn%3Aurn-7%3A3gpp-service.ims.icsi.mmtel"',
  'Allow: INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, MESSAGE, REFER, NOTIFY, INFO',
  'Supported: 100rel, timer, precondition, replaces',
  'Require: sec-agree',
  'Proxy-Require: sec-agree',
  'Security-Verify: ipsec-3gpp;q=0.1;alg=hmac-sha-1-96;ealg=null;spi-c=1234;spi-s=5678;port-c=5063;port-s=5065;prot=esp;mod=trans',
  'P-Preferred-Identity: <sip:001010000000001@ims.example.net>',
  'P-Access-Network-Info: 3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=0010100010019B01',
  'Session-Expires: 1800',
  'Min-SE: 90',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
], SDP);

function rate(bytes: Buffer, ms: number): number {
  // Warm up so the JIT has compiled the hot path before timing.
  for (let i = 0; i < 20_000; i++) serializeMessage(parseMessage(bytes));
  let n = 0;
  const start = performance.now();
  const stop = start + ms;
  const maxIterations = 50_000_000;
  let now = start;
  while (now < stop && n < maxIterations) {
    for (let i = 0; i < 1000; i++) serializeMessage(parseMessage(bytes));
    n += 1000;
    now = performance.now();
  }
  return Math.round((n * 1000) / (now - start));
}

export async function benchSipCodec(opts: { seconds: number }): Promise<{ register_per_s: number; invite_per_s: number }> {
  const ms = Math.max(100, opts.seconds * 1000) / 2;
  return { register_per_s: rate(REGISTER, ms), invite_per_s: rate(INVITE, ms) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const seconds = Number(process.argv[2] ?? 4);
  console.log(`REGISTER ${REGISTER.length} bytes, INVITE ${INVITE.length} bytes`);
  const r = await benchSipCodec({ seconds });
  console.log(JSON.stringify(r));
}
