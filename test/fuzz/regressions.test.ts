/**
 * Bugs `imslab fuzz` found, one test each, named after the finding that showed them. The inputs are the
 * saved reproducers, reduced to the part that matters.
 */
import { describe, expect, it } from 'vitest';
import { answerOffer } from '../../src/sdp/answer.js';
import { SdpError } from '../../src/sdp/errors.js';
import { checkMessage } from '../../src/sip/check/verdict.js';
import { SeededRandom } from '../../src/util/random.js';
import { formatNameAddr, parseNameAddr } from '../../src/sip/headers/name-addr.js';
import { formatPChargingVector, parsePChargingVector } from '../../src/sip/headers/p-headers.js';
import { SipParseError } from '../../src/sip/parser.js';

describe('regressions found by fuzzing', () => {
  it('sip-headers property: P-Charging-Vector with a base64 icid-value formats to a header that parses again', () => {
    // TS 24.229 §7.2A.5's own example value: "=" is not a token character, so it only travels quoted.
    const value = 'icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";icid-generated-at=[2001:db8::1];orig-ioi=home1.net;term-ioi="visited net"';
    const v = parsePChargingVector(value);
    expect(v.icidValue).toBe('AyretyU0dm+6O2IrT5tAFrbHLso=023551024');
    const text = formatPChargingVector(v);
    expect(text).toBe('icid-value="AyretyU0dm+6O2IrT5tAFrbHLso=023551024";icid-generated-at=[2001:db8::1];orig-ioi=home1.net;term-ioi="visited net"');
    const again = parsePChargingVector(text);
    expect(again.icidValue).toBe(v.icidValue);
    expect(again.termIoi).toBe('visited net');
    expect(formatPChargingVector(again)).toBe(text);
  });

  it('sip-headers property: an addr-spec with a stray ">" is refused instead of formatting to "<…>>"', () => {
    // Reproducers: To "g.bell@example.com>;tag=43", To "org>", To ">:bob@ims.lab" (a truncated "<" before them).
    for (const bad of ['g.bell@example.com>;tag=43', 'org>', '>:bob@ims.lab', 'sip:bob@>']) {
      expect(() => parseNameAddr(bad), bad).toThrow(SipParseError);
    }
    // What stays accepted still round-trips.
    for (const good of ['sip:bob@ims.lab;tag=43', '<sip:bob@ims.lab>;tag=43', '"Bob" <sip:bob@ims.lab>', 'Bob <sip:bob@ims.lab;lr>;tag=x']) {
      const n = parseNameAddr(good);
      expect(parseNameAddr(formatNameAddr(n))).toEqual(n);
    }
  });

  it('sip-check property: a rejection reason never carries CR or LF from the input into the Reason-Phrase', () => {
    const head = [
      'OPTIONS sip:127.0.48.1:5060 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.48.2:5070;branch=z9hG4bKopt1;rport',
      'Max-Forwards: 70',
      'From: <sip:probe@127.0.48.2>;tag=p1',
      'To: <sip:127.0.48.1>',
      'Call-ID: options-1@127.0.48.2',
      'CSeq: 1 OPTIONS',
    ].join('\r\n');
    // Reproducer sip-check-1-336: a last "header" line of "\r%" (no empty line, so a datagram's end).
    const noColon = checkMessage(Buffer.from(`${head}\r\nContent-Length: 0\r\n\r%`), 'uas');
    expect(noColon).toMatchObject({ verdict: 'reject', status: 400 });
    expect(noColon.reason).toBe('Header line without a colon: "\\r%"');
    // Reproducer sip-check-1-4209: an Accept value with a bare CR inside, quoted into the 406 reason.
    const accept = checkMessage(Buffer.from(`${head}\r\nAccept: application/sdp\rapplication/x\r\nContent-Length: 0\r\n\r\n`), 'uas');
    expect(accept).toMatchObject({ verdict: 'reject', status: 406 });
    expect(accept.reason).not.toMatch(/[\r\n]/);
    expect(accept.reason).toContain('application/sdp\\rapplication/x');
  });

  describe('sdp exceptions: numeric-looking SDP fields reached string code as numbers', () => {
    const offer = (extra: string) =>
      ['v=0', 'o=bob 2808844564 2808844565 IN IP4 127.0.10.2', 's=-', 'c=IN IP4 127.0.10.2', 't=0 0', 'm=audio 38000 RTP/AVP 8 101', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', extra, ''].join('\r\n');
    const answer = (sdp: string) => answerOffer(sdp, { address: '127.0.48.9', port: 40000 }, new SeededRandom(1));

    it('an unknown attribute line that is a number ("a=Infinity", "a=12") is ignored, not a TypeError', () => {
      for (const line of ['a=Infinity', 'a=12']) {
        const r = answer(offer(line));
        expect(r.ok, line).toBe(true);
      }
    });

    it('an rtpmap whose encoding name is a number ("a=rtpmap:0 0") matches no codec, not a TypeError', () => {
      const sdp = offer('a=sendrecv').replace('m=audio 38000 RTP/AVP 8 101', 'm=audio 38000 RTP/AVP 0 8 101').replace('a=rtpmap:8 PCMA/8000', 'a=rtpmap:0 0\r\na=rtpmap:8 PCMA/8000');
      const r = answer(sdp);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.chosen.name).toBe('PCMA');
      // With nothing else offered the offer is not acceptable (488), which is a result, not an exception.
      const only = offer('a=sendrecv').replace('m=audio 38000 RTP/AVP 8 101', 'm=audio 38000 RTP/AVP 96').replace('a=rtpmap:8 PCMA/8000', 'a=rtpmap:96 0/8000');
      let outcome: unknown;
      try {
        outcome = answer(only).ok;
      } catch (e) {
        outcome = e instanceof SdpError ? 'SdpError' : e;
      }
      expect([false, 'SdpError']).toContain(outcome);
    });
  });
});
