import { describe, expect, it } from 'vitest';
import { checkMessage, loopHash } from '../../../src/sip/check/verdict.js';
import { parseMessage } from '../../../src/sip/parser.js';
import type { SipRequest } from '../../../src/sip/message.js';

const req = (first: string, extra: string[] = [], vias = ['SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKue1']) =>
  Buffer.from([first, ...vias.map((v) => `Via: ${v}`), 'From: <sip:a@x>;tag=1', 'To: <sip:b@x>', 'Call-ID: v1', `CSeq: 1 ${first.split(' ')[0]}`, 'Max-Forwards: 70', ...extra, 'Content-Length: 0', '', ''].join('\r\n'));

describe('checkMessage beyond RFC 4475', () => {
  it('482 when our own Via carries the same loop hash; a spiral (different hash) passes', () => {
    const first = req('INVITE sip:b@x SIP/2.0');
    const hash = loopHash(parseMessage(first) as SipRequest);
    const looped = req('INVITE sip:b@x SIP/2.0', [], [`SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKue1`, `SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bKp1.${hash}`]);
    expect(checkMessage(looped, 'proxy', { localSentBy: ['127.0.1.1:5060'] })).toMatchObject({ verdict: 'reject', status: 482 });
    const spiral = req('INVITE sip:c@x SIP/2.0', [], [`SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKue1`, `SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bKp1.${hash}`]);
    expect(checkMessage(spiral, 'proxy', { localSentBy: ['127.0.1.1:5060'] }).verdict).toBe('accept');
  });

  it('405 with Allow for a known method the role does not serve, 501 for an unknown one', () => {
    expect(checkMessage(req('INVITE sip:b@x SIP/2.0'), 'registrar')).toMatchObject({ verdict: 'reject', status: 405, headers: [['Allow', 'REGISTER, OPTIONS']] });
    expect(checkMessage(req('FOO sip:b@x SIP/2.0'), 'uas')).toMatchObject({ status: 501 });
  });

  it('420 lists unknown Require tags; IMS tags are supported by default', () => {
    expect(checkMessage(req('REGISTER sip:x SIP/2.0', ['Require: sec-agree, path']), 'registrar').verdict).toBe('accept');
    expect(checkMessage(req('OPTIONS sip:b@x SIP/2.0', ['Require: sec-agree, foo']), 'uas')).toMatchObject({ status: 420, headers: [['Unsupported', 'foo']] });
    expect(checkMessage(req('OPTIONS sip:b@x SIP/2.0', ['Require: foo']), 'uas', { supportedOptionTags: ['foo'] }).verdict).toBe('accept');
  });

  it('415 for an unknown Content-Encoding, with Accept-Encoding', () => {
    const v = checkMessage(req('MESSAGE sip:b@x SIP/2.0', ['Content-Type: text/plain', 'Content-Encoding: gzip']), 'uas');
    expect(v).toMatchObject({ status: 415, headers: [['Accept-Encoding', 'identity']] });
  });

  it('discards responses that cannot be routed back, 400s requests missing Via-less framing', () => {
    expect(checkMessage(Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n'), 'proxy').verdict).toBe('discard');
    expect(checkMessage(Buffer.from('garbage'), 'proxy').verdict).toBe('discard');
    expect(checkMessage(req('OPTIONS sip:b@x SIP/2.0', [], []), 'proxy')).toMatchObject({ status: 400, reason: 'Missing Via' });
  });
});
