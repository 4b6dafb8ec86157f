import { describe, expect, it } from 'vitest';
import { Dialog } from '../../../src/sip/dialog/dialog.js';
import { targetThroughRouteSet } from '../../../src/sip/dialog/route-set.js';
import { parseMessage } from '../../../src/sip/parser.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message.js';

const INVITE = parseMessage(
  Buffer.from(
    [
      'INVITE sip:bob@biloxi.example.com SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.43.1:5060;branch=z9hG4bK74bf9',
      'Max-Forwards: 70',
      'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
      'To: Bob <sip:bob@biloxi.example.com>',
      'Call-ID: 3848276298220188511@atlanta.example.com',
      'CSeq: 314159 INVITE',
      'Contact: <sip:alice@127.0.43.1:5060>',
      'Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ),
) as SipRequest;

const OK = parseMessage(
  Buffer.from(
    [
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 127.0.43.1:5060;branch=z9hG4bK74bf9',
      'From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl',
      'To: Bob <sip:bob@biloxi.example.com>;tag=8321234356',
      'Call-ID: 3848276298220188511@atlanta.example.com',
      'CSeq: 314159 INVITE',
      'Contact: <sip:bob@127.0.43.2:5060>',
      'Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ),
) as SipResponse;

describe('Dialog (RFC 3261 §12)', () => {
  it('UAC view from a 2xx: ID, reversed Record-Route, remote target, local CSeq (§12.1.2)', () => {
    const d = Dialog.asUac(INVITE, OK, 'sip:alice@127.0.43.1:5060');
    expect(d.id).toEqual({ callId: '3848276298220188511@atlanta.example.com', localTag: '9fxced76sl', remoteTag: '8321234356' });
    expect(d.routeSet).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(d.remoteTarget).toBe('sip:bob@127.0.43.2:5060');
    expect(d.state).toBe('confirmed');
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:bob@127.0.43.2:5060');
    expect(bye.headers.list('Route')).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
    expect(bye.headers.get('CSeq')).toBe('314160 BYE');
    expect(bye.headers.get('From')).toBe('Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl');
    expect(bye.headers.get('To')).toBe('Bob <sip:bob@biloxi.example.com>;tag=8321234356');
    // ACK reuses the INVITE's number (§13.2.2.4); the next request continues after BYE.
    expect(d.createRequest('ACK', { cseq: 314159 }).headers.get('CSeq')).toBe('314159 ACK');
    expect(d.createRequest('INFO').headers.get('CSeq')).toBe('314161 INFO');
  });

  it('UAS view from the request: Record-Route in order, remote CSeq, our tag added to To (§12.1.1)', () => {
    const d = Dialog.asUas(INVITE, 'uastag1', 'sip:bob@127.0.43.2:5060');
    expect(d.id).toEqual({ callId: '3848276298220188511@atlanta.example.com', localTag: 'uastag1', remoteTag: '9fxced76sl' });
    expect(d.routeSet).toEqual(['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    expect(d.remoteTarget).toBe('sip:alice@127.0.43.1:5060');
    expect(d.remoteSeq).toBe(314159);
    const bye = d.createRequest('BYE');
    expect(bye.headers.get('From')).toBe('Bob <sip:bob@biloxi.example.com>;tag=uastag1');
    expect(bye.headers.get('To')).toBe('Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl');
    expect(bye.headers.get('CSeq')).toBe('1 BYE');
  });

  it('rejects requests out of CSeq order with 500 and accepts increasing ones (§12.2.2)', () => {
    const d = Dialog.asUas(INVITE, 'uastag1', 'sip:bob@127.0.43.2:5060');
    const again = INVITE.clone();
    again.method = 'INFO';
    again.headers.set('CSeq', '314159 INFO');
    expect(d.checkRemoteRequest(again)?.status).toBe(500);
    again.headers.set('CSeq', '314160 INFO');
    expect(d.checkRemoteRequest(again)).toBeUndefined();
    expect(d.remoteSeq).toBe(314160);
  });

  it('strict first hop: its URI becomes the Request-URI and the remote target the last Route (§12.2.1.1)', () => {
    const t = targetThroughRouteSet('sip:bob@127.0.43.2:5060', ['<sip:strict.example.com;maddr=127.0.43.7>', '<sip:p1.example.com;lr>']);
    expect(t.uri).toBe('sip:strict.example.com;maddr=127.0.43.7');
    expect(t.routes).toEqual(['<sip:p1.example.com;lr>', '<sip:bob@127.0.43.2:5060>']);
    expect(targetThroughRouteSet('sip:x@h', [])).toEqual({ uri: 'sip:x@h', routes: [] });
  });

  it('refuses to form a dialog from a response without a To tag, and to build in a terminated one', () => {
    const noTag = OK.clone();
    noTag.headers.set('To', 'Bob <sip:bob@biloxi.example.com>');
    expect(() => Dialog.asUac(INVITE, noTag, 'sip:a@h')).toThrow(/To tag/);
    const d = Dialog.asUac(INVITE, OK, 'sip:a@h');
    d.terminate();
    expect(() => d.createRequest('BYE')).toThrow(/terminated/);
  });

  it('gives back every From/To value byte for byte, keeping only the URI of a plain <uri>;tag= (issue 7)', () => {
    const kept: string[] = [];
    const values: Array<[string, string]> = [
      ['<sip:pcscf@127.0.61.1:26260>;tag=b16294e356', 'b16294e356'],
      ['Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl', '9fxced76sl'],
      ['<sip:a@h>;foo=1;tag=t1', 't1'],
      ['<sip:a@h>;tag=t1;foo=1', 't1'],
      ['<sip:a@h>;TAG=t1', 't1'],
      ['<sip:a@h>;tag=xt1', 't1'],
      ['sip:a@h;tag=t1', 't1'],
      ['<sip:a@h>;tag=', ''],
    ];
    for (const [local, localTag] of values) {
      for (const [remote, remoteTag] of values) {
        const d = new Dialog({
          callId: 'c', localTag, remoteTag, local, remote, remoteTarget: 'sip:x@h', routeSet: [], localSeq: 1,
          secure: false, state: 'confirmed', localContact: 'sip:me@h', keep: (v) => (kept.push(v), v),
        });
        expect([d.local, d.remote]).toEqual([local, remote]);
        const r = d.createRequest('INFO');
        expect([r.headers.get('From'), r.headers.get('To')]).toEqual([local, remote]);
      }
    }
    // Only the first and the last are the plain form: the dialog is handed their URIs, the rest whole.
    expect(new Set(kept)).toEqual(new Set(['sip:pcscf@127.0.61.1:26260', 'sip:a@h', ...values.slice(1, -1).map(([v]) => v)]));
  });
});
