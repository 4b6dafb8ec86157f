import 'reflect-metadata';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/util/random.js';
import { parseMessage } from '../../src/sip/parser.js';
import { isRequest, type SipMessage } from '../../src/sip/message.js';
import { parseSessionDescription, readPreconditions } from '../../src/sdp/index.js';
import { type CallState } from '../../src/ue/index.js';
import { sipSentBy, startUePair, stopUePair, type UePair } from './helpers/ue-node.js';

/**
 * Session features between two simulated UEs with no core in between (each UE's "P-CSCF" is the other):
 * reliable provisionals and QoS preconditions (RFC 3262, RFC 3312, RFC 3311), hold and resume by re-INVITE
 * (RFC 3264 §8.4), UPDATE session refresh, DTMF as RTP events (RFC 4733). Real sockets on 127.0.93.x.
 */
const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const A = '127.0.93.1';
const B = '127.0.93.2';
const BOB = `sip:bob@${DOMAIN}`;

type Lab = UePair;

let labs: Lab[] = [];

async function lab(aliceSettings: Record<string, unknown> = {}, bobSettings: Record<string, unknown> = {}): Promise<Lab> {
  const l = await startUePair({ alice: A, bob: B }, { alice: aliceSettings, bob: bobSettings, timers: { t4: 200 } });
  labs.push(l);
  return l;
}

afterEach(async () => {
  for (const l of labs) await stopUePair(l);
  labs = [];
});

/** Every SIP message sent by `node`, in order. */
function sent(l: Lab, node: string): SipMessage[] {
  return sipSentBy(l.events, node);
}

/** The ladder as both UEs sent it: "INVITE", "183 INVITE", … retransmissions and 100 Trying folded. */
function ladder(l: Lab): string[] {
  const out: string[] = [];
  for (const e of l.events) {
    if (e.type !== 'packet' || e.protocol !== 'sip' || e.direction !== 'send') continue;
    const m = parseMessage(e.bytes);
    if (!isRequest(m) && m.status === 100) continue;
    const line = isRequest(m) ? m.method : `${m.status} ${m.headers.get('CSeq')!.split(' ')[1]}`;
    if (out[out.length - 1] !== line) out.push(line);
  }
  return out;
}

function stateOf(call: { state$: import('rxjs').Observable<CallState> }, want: CallState['state']): Promise<CallState> {
  return firstValueFrom(call.state$.pipe(filter((s) => s.state === want), timeout(5000)));
}

/** Waits until `node` has received `count` RTP packets more than now. */
function rtpArrivals(l: Lab, node: string, count: number): Promise<unknown> {
  let n = 0;
  return firstValueFrom(
    l.bus.events$.pipe(
      filter((e) => e.type === 'packet' && e.protocol === 'rtp' && e.node === node && e.direction === 'recv' && ++n >= count),
      timeout(5000),
    ),
  );
}

function rtpSentBy(l: Lab, node: string): number {
  return l.events.filter((e) => e.type === 'packet' && e.protocol === 'rtp' && e.node === node && e.direction === 'send').length;
}

describe('QoS preconditions with reliable provisionals (RFC 3312, RFC 3262, TS 24.229 §6.1.2)', () => {
  it('INVITE, reliable 183 with the answer, PRACK, UPDATE with curr local sendrecv, 180, 200, ACK; media flows', async () => {
    const l = await lab({ preconditions: true });
    const call = l.alice.call(BOB, { routeSet: [] });
    expect(await call.settled()).toMatchObject({ state: 'confirmed', status: 200 });
    await rtpArrivals(l, 'bob', 10);

    expect(ladder(l)).toEqual(['INVITE', '183 INVITE', 'PRACK', '200 PRACK', 'UPDATE', '200 UPDATE', '180 INVITE', '200 INVITE', 'ACK']);
    const invite = sent(l, 'alice').find((m) => isRequest(m) && m.method === 'INVITE')!;
    expect(invite.headers.get('Require')).toBe('precondition');
    expect(invite.headers.get('Supported')).toBe('100rel, precondition');
    const offer = readPreconditions(parseSessionDescription(invite.body.toString()).media[0]!)!;
    expect(offer.current.map((c) => `${c.statusType} ${c.direction}`)).toEqual(['local none', 'remote none']);
    expect(offer.desired[0]).toMatchObject({ strength: 'mandatory', statusType: 'local', direction: 'sendrecv' });

    const r183 = sent(l, 'bob').find((m) => !isRequest(m) && m.status === 183)!;
    expect(r183.headers.get('Require')).toBe('100rel');
    const rseq = Number(r183.headers.get('RSeq'));
    expect(rseq).toBeGreaterThanOrEqual(1);
    const answer = readPreconditions(parseSessionDescription(r183.body.toString()).media[0]!)!;
    expect(answer.confirm.map((c) => `${c.statusType} ${c.direction}`)).toEqual(['remote sendrecv']);

    const prack = sent(l, 'alice').find((m) => isRequest(m) && m.method === 'PRACK')!;
    expect(prack.headers.get('RAck')).toBe(`${rseq} 1 INVITE`);
    expect(prack.headers.get('CSeq')).toBe('2 PRACK');
    const update = sent(l, 'alice').find((m) => isRequest(m) && m.method === 'UPDATE')!;
    expect(update.headers.get('CSeq')).toBe('3 UPDATE');
    const reserved = readPreconditions(parseSessionDescription(update.body.toString()).media[0]!)!;
    expect(reserved.current.map((c) => `${c.statusType} ${c.direction}`)).toEqual(['local sendrecv', 'remote none']);
    // RFC 3264 §8: the UPDATE's offer is the same session, one version up.
    const o = (m: SipMessage) => parseSessionDescription(m.body.toString()).origin!;
    expect(BigInt(o(update).sessionVersion)).toBe(BigInt(o(invite).sessionVersion) + 1n);
    const updateOk = sent(l, 'bob').find((m) => !isRequest(m) && m.status === 200 && m.headers.get('CSeq') === '3 UPDATE')!;
    const both = readPreconditions(parseSessionDescription(updateOk.body.toString()).media[0]!)!;
    expect(both.current.map((c) => `${c.statusType} ${c.direction}`)).toEqual(['local sendrecv', 'remote sendrecv']);
    // RFC 3262 §5: the answer came reliably in the 183; the 2xx repeats none.
    const ok = sent(l, 'bob').find((m) => !isRequest(m) && m.status === 200 && m.headers.get('CSeq') === '1 INVITE')!;
    expect(ok.body.length).toBe(0);

    await call.hangup();
    expect(sent(l, 'alice').find((m) => isRequest(m) && m.method === 'BYE')!.headers.get('CSeq')).toBe('4 BYE');
    expect(l.alice.ua!.dialogCount).toBe(0);
    expect(l.bob.ua!.dialogCount).toBe(0);
  });

  it('a callee that does not answer is alerted only after the UPDATE, and CANCEL ends the early dialog with 487', async () => {
    const l = await lab({ preconditions: true }, { answer: 'noanswer' });
    const call = l.alice.call(BOB, { routeSet: [] });
    await stateOf(call, 'ringing');
    expect(ladder(l).slice(-3)).toEqual(['UPDATE', '200 UPDATE', '180 INVITE']);
    expect(l.bob.calls[0]!.state.state).toBe('ringing');
    const end = await call.hangup('gave up');
    expect(end).toMatchObject({ state: 'terminated', status: 487 });
    await stateOf(l.bob.calls[0] ?? call, 'terminated');
    expect(l.alice.ua!.dialogCount).toBe(0);
    expect(l.bob.ua!.dialogCount).toBe(0);
  });

  it('an INVITE with preconditions but without 100rel support gets 421 Require: 100rel', async () => {
    const l = await lab();
    const ua = l.alice.ua!;
    const offer = (await import('../../src/sdp/index.js')).createOffer({ address: A, port: 40000, preconditions: true }, new SeededRandom('o'));
    const { response } = await ua.request('INVITE', BOB, { routeSet: [], body: offer.sdp, contentType: 'application/sdp', headers: [['Require', 'precondition']] });
    expect(response.status).toBe(421);
    expect(response.headers.get('Require')).toBe('100rel');
  });
});

describe('hold, resume, UPDATE and DTMF in a confirmed call', () => {
  it('hold: re-INVITE sendonly answered recvonly, the held side stops sending; resume restores sendrecv', async () => {
    const l = await lab();
    const call = l.alice.call(BOB, { routeSet: [] });
    await call.settled();
    await rtpArrivals(l, 'alice', 5);
    const bobCall = l.bob.calls[0]!;

    await call.hold();
    const reinvite = sent(l, 'alice').filter((m) => isRequest(m) && m.method === 'INVITE')[1]!;
    expect(reinvite.headers.get('CSeq')).toBe('2 INVITE');
    expect(parseSessionDescription(reinvite.body.toString()).media[0]!.direction).toBe('sendonly');
    const ok = sent(l, 'bob').filter((m) => !isRequest(m) && m.headers.get('CSeq') === '2 INVITE' && m.status === 200)[0]!;
    expect(parseSessionDescription(ok.body.toString()).media[0]!.direction).toBe('recvonly');
    expect(sent(l, 'alice').filter((m) => isRequest(m) && m.method === 'ACK').map((m) => m.headers.get('CSeq'))).toContain('2 ACK');
    expect(call.mediaDirection).toBe('sendonly');
    expect(bobCall.mediaDirection).toBe('recvonly');

    // Bob is held: he sends nothing more while alice still does (music on hold, RFC 3264 §8.4).
    await rtpArrivals(l, 'bob', 3);
    const bobBefore = rtpSentBy(l, 'bob');
    await rtpArrivals(l, 'bob', 10);
    expect(rtpSentBy(l, 'bob') - bobBefore).toBeLessThanOrEqual(1);

    await call.resume();
    const third = sent(l, 'alice').filter((m) => isRequest(m) && m.method === 'INVITE')[2]!;
    expect(parseSessionDescription(third.body.toString()).media[0]!.direction).toBe('sendrecv');
    expect(BigInt(parseSessionDescription(third.body.toString()).origin!.sessionVersion)).toBe(BigInt(parseSessionDescription(reinvite.body.toString()).origin!.sessionVersion) + 1n);
    expect(bobCall.mediaDirection).toBe('sendrecv');
    await rtpArrivals(l, 'alice', 10);

    // The callee can hold too: its re-offer keeps its own o= session id.
    await bobCall.hold();
    expect(call.mediaDirection).toBe('recvonly');
    const bobOffers = sent(l, 'bob').filter((m) => isRequest(m) && m.method === 'INVITE');
    const bobAnswer = sent(l, 'bob').find((m) => !isRequest(m) && m.status === 200 && m.headers.get('CSeq') === '1 INVITE')!;
    expect(parseSessionDescription(bobOffers[0]!.body.toString()).origin!.sessionId).toBe(parseSessionDescription(bobAnswer.body.toString()).origin!.sessionId);

    expect(await call.refresh()).toBe(200);
    await call.hangup();
    await stateOf(bobCall, 'terminated');
  });

  it('a re-offer with no common codec gets 488 and the session stays as it was', async () => {
    const l = await lab({}, { codecs: ['PCMA'] });
    const call = l.alice.call(BOB, { routeSet: [], codec: 'PCMA' });
    await call.settled();
    const bobCall = l.bob.calls[0]!;
    // An UPDATE in alice's dialog offering only G.729, which bob cannot take (RFC 3311 §5.2, RFC 3264 §6).
    const dialogCall = call as unknown as { dialog: { request(m: string, o: object): Promise<{ response: { status: number; headers: { get(n: string): string | undefined } } }> } };
    const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.93.2\r\ns=-\r\nc=IN IP4 127.0.93.2\r\nt=0 0\r\nm=audio 40100 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n';
    const r = await dialogCall.dialog.request('UPDATE', { body: sdp, contentType: 'application/sdp' });
    expect(r.response.status).toBe(488);
    expect(r.response.headers.get('Warning')).toMatch(/^305 /);
    expect(call.state.state).toBe('confirmed');
    expect(bobCall.mediaDirection).toBe('sendrecv');
    await call.hangup();
  });

  it('DTMF "1*9#" as RFC 4733 events: the callee records the digits once each', async () => {
    const l = await lab();
    const call = l.alice.call(BOB, { routeSet: [] });
    await call.settled();
    await rtpArrivals(l, 'bob', 3);
    await call.sendDtmf('1*9#', 60);
    const bobGotAll = firstValueFrom(
      l.bus.events$.pipe(
        filter(() => l.bob.dtmfReceived.length >= 4),
        timeout(3000),
      ),
    );
    if (l.bob.dtmfReceived.length < 4) await bobGotAll;
    expect(l.bob.dtmfReceived).toBe('1*9#');
    expect(l.alice.dtmfReceived).toBe('');
    await expect(l.bob.confirmedCall().sendDtmf('x')).rejects.toThrow(/not a DTMF digit/);
    await call.hangup();
    await expect(call.sendDtmf('1')).rejects.toThrow(/not confirmed/);
  });
});
