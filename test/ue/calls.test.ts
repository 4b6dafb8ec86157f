import 'reflect-metadata';
import { filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { tempPcap } from '../helpers/temp-pcap.js';
import type { NoteEvent, PacketEvent } from '../../src/trace/events.js';
import { isRequest, type SipMessage } from '../../src/sip/message.js';
import { parseSessionDescription } from '../../src/sdp/index.js';
import { type CallState } from '../../src/ue/index.js';
import { sipSentBy, startUePair, stopUePair, type UePair } from './helpers/ue-node.js';

/**
 * Calls and messages between two simulated UEs with no core in between: each UE's "P-CSCF" in its directory
 * is the other UE, and the calls go without a preloaded Route. Real sockets on 127.0.45.x, the system clock.
 */
const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const A = '127.0.45.1';
const B = '127.0.45.2';
const ALICE = `sip:alice@${DOMAIN}`;
const BOB = `sip:bob@${DOMAIN}`;

type Lab = UePair;

let labs: Lab[] = [];

async function lab(bobSettings: Record<string, unknown> = {}): Promise<Lab> {
  // A short T4 so that the callee's INVITE transaction ends soon after a CANCEL (Timer I, RFC 3261 §17.2.1).
  const l = await startUePair({ alice: A, bob: B }, { bob: bobSettings, timers: { t4: 200 } });
  labs.push(l);
  return l;
}

afterEach(async () => {
  for (const l of labs) await stopUePair(l);
  labs = [];
});

function sipSent(l: Lab, node: string): SipMessage[] {
  return sipSentBy(l.events, node);
}

function firstRequest(l: Lab, node: string, method: string) {
  const m = sipSent(l, node).find((x) => isRequest(x) && x.method === method);
  if (!m || !isRequest(m)) throw new Error(`${node} sent no ${method}`);
  return m;
}

function responses(l: Lab, node: string, method: string): number[] {
  return sipSent(l, node)
    .filter((x) => !isRequest(x) && x.headers.get('CSeq')!.endsWith(` ${method}`))
    .map((x) => (x as { status: number }).status);
}

function rtpPackets(l: Lab, node: string, count: number) {
  return firstValueFrom(
    l.bus.events$.pipe(
      filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'rtp' && e.node === node && e.direction === 'recv'),
      take(count),
      toArray(),
      timeout(5000),
    ),
  );
}

function stateOf(call: { state$: import('rxjs').Observable<CallState> }, want: CallState['state']): Promise<CallState> {
  return firstValueFrom(call.state$.pipe(filter((s) => s.state === want), timeout(5000)));
}

function streamNotes(l: Lab): NoteEvent[] {
  return l.events.filter((e): e is NoteEvent => e.type === 'note' && e.clause === 'RFC 3550 §6.4.1');
}

describe('UE calls (RFC 3261 §13-15, RFC 3264) UE to UE', () => {
  it('INVITE with an SDP offer, 180 then 200 with the answer, ACK, tone RTP both ways, BYE and 200', async () => {
    const l = await lab();
    const seen: string[] = [];
    const call = l.alice.call(BOB, { routeSet: [] });
    call.state$.subscribe((s) => seen.push(s.state));
    const bobCall = firstValueFrom(l.bus.events$.pipe(filter((e) => e.type === 'packet' && e.node === 'bob' && e.direction === 'recv'), timeout(3000)));
    await bobCall;
    const confirmed = await call.settled();
    expect(confirmed).toMatchObject({ state: 'confirmed', status: 200 });

    const invite = firstRequest(l, 'alice', 'INVITE');
    expect(invite.uri).toBe(BOB);
    expect(invite.headers.has('Route')).toBe(false);
    expect(invite.headers.get('P-Preferred-Identity')).toBe(`<${ALICE}>`);
    expect(invite.headers.get('P-Access-Network-Info')).toMatch(/^3GPP-E-UTRAN-FDD/);
    expect(invite.headers.get('Content-Type')).toBe('application/sdp');
    const offer = parseSessionDescription(invite.body.toString());
    expect(offer.media[0]!.port).toBe(40000); // alice is the first UE: ports 40000-40099
    expect(offer.media[0]!.rtp.map((r) => `${r.codec}/${r.rate}`)).toEqual(['PCMU/8000', 'PCMA/8000', 'AMR-WB/16000', 'opus/48000', 'telephone-event/8000', 'telephone-event/16000']);
    expect(offer.connection?.ip ?? offer.media[0]!.connection?.ip).toBe(A);

    const answers = sipSent(l, 'bob').filter((m) => !isRequest(m) && m.headers.get('CSeq') === '1 INVITE');
    expect(answers.map((m) => (m as { status: number }).status)).toContain(180);
    const ok = answers.find((m) => (m as { status: number }).status === 200)!;
    expect(ok.headers.get('Contact')).toBe(`<${l.bob.ua!.contact}>`);
    const answer = parseSessionDescription(ok.body.toString());
    expect(answer.media[0]!.port).toBe(40100); // bob is the second UE
    expect(answer.media[0]!.rtp[0]!.codec).toBe('PCMU');
    expect(firstRequest(l, 'alice', 'ACK').headers.get('CSeq')).toBe('1 ACK');

    // 20 ms packets both ways: 25 packets in well under the bound.
    const [toBob, toAlice] = await Promise.all([rtpPackets(l, 'bob', 25), rtpPackets(l, 'alice', 25)]);
    expect(toBob[0]!.remote).toEqual({ address: A, port: 40000 });
    expect(toAlice[0]!.remote).toEqual({ address: B, port: 40100 });
    expect(call.statistics()!.received).toBeGreaterThanOrEqual(25);
    const bobSide = l.bob.calls[0]!;
    expect(bobSide.state.state).toBe('confirmed');

    const end = await call.hangup();
    expect(end).toMatchObject({ state: 'terminated', status: 200 });
    expect(firstRequest(l, 'alice', 'BYE').headers.get('CSeq')).toBe('2 BYE');
    expect(responses(l, 'bob', 'BYE')).toEqual([200]);
    expect((await stateOf(bobSide, 'terminated')).reason).toBe('hung up by the peer');
    expect(seen).toEqual(['trying', 'ringing', 'confirmed', 'terminated']);
    // One statistics note per stream, no loss, and nothing left open.
    const notes = streamNotes(l);
    expect(notes.map((n) => n.node).sort()).toEqual(['alice', 'bob']);
    for (const n of notes) {
      expect(n.data!['lost']).toBe(0);
      expect(n.data!['received'] as number).toBeGreaterThanOrEqual(25);
    }
    expect(l.alice.calls).toEqual([]);
    expect(l.bob.calls).toEqual([]);
    expect(l.alice.ua!.dialogCount).toBe(0);
    expect(l.bob.ua!.dialogCount).toBe(0);
    expect(l.alice.lastStatus).toBe(200);

    // Wireshark's view: no malformed packet, and the two directions as two RTP streams without loss.
    if (!existsSync('/usr/bin/tshark')) throw new Error('tshark is required for this test (apt-get install tshark)');
    const pcap = tempPcap(l.events, 'call.pcap');
    const bad = execFileSync('tshark', ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-Y', '_ws.malformed || _ws.expert.severity == error'], { encoding: 'utf8' });
    expect(bad.trim()).toBe('');
    const streams = execFileSync('tshark', ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-q', '-z', 'rtp,streams'], { encoding: 'utf8' });
    const rows = streams.split('\n').filter((line) => /0x[0-9A-Fa-f]{8}/.test(line));
    expect(rows, streams).toHaveLength(2);
    for (const row of rows) expect(row, streams).toMatch(/ 0 \(0\.0%\)/);
  });

  it('the callee hangs up: BYE from bob, alice answers 200 and stops media', async () => {
    const l = await lab();
    const call = l.alice.call(BOB, { routeSet: [] });
    await call.settled();
    await firstValueFrom(l.bus.events$.pipe(filter((e) => e.type === 'packet' && e.protocol === 'rtp' && e.node === 'bob' && e.direction === 'recv'), timeout(3000)));
    expect(await l.bob.hangup()).toBe(1);
    expect((await stateOf(call, 'terminated')).reason).toBe('hung up by the peer');
    expect(responses(l, 'alice', 'BYE')).toEqual([200]);
    expect(streamNotes(l)).toHaveLength(2);
  });

  it('busy callee: 486, no media stream opened on either side', async () => {
    const l = await lab({ answer: 'busy' });
    const end = await l.alice.call(BOB, { routeSet: [] }).settled();
    expect(end).toMatchObject({ state: 'terminated', status: 486, reason: 'Busy Here' });
    expect(l.alice.lastStatus).toBe(486);
    expect(l.bob.calls).toEqual([]);
  });

  it('hanging up before the answer sends CANCEL: 200 for the CANCEL, 487 for the INVITE, both calls end', async () => {
    const l = await lab({ answer: 'noanswer' });
    const call = l.alice.call(BOB, { routeSet: [] });
    await stateOf(call, 'ringing');
    const bobCall = l.bob.calls[0]!;
    expect(bobCall.state.state).toBe('ringing');
    const end = await call.hangup('changed my mind');
    expect(end).toMatchObject({ state: 'terminated', status: 487 });
    const cancel = firstRequest(l, 'alice', 'CANCEL');
    expect(cancel.headers.get('CSeq')).toBe('1 CANCEL');
    expect(cancel.headers.get('Reason')).toBe('SIP;cause=487;text="changed my mind"');
    expect(responses(l, 'bob', 'CANCEL')).toEqual([200]);
    expect(responses(l, 'bob', 'INVITE')).toContain(487);
    expect(await stateOf(bobCall, 'terminated')).toMatchObject({ status: 487, reason: 'cancelled by the caller' });
  });

  it('no common codec: 488 with a 305 Warning (RFC 3261 §20.43)', async () => {
    const l = await lab();
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.45.1', 's=-', 'c=IN IP4 127.0.45.1', 't=0 0', 'm=audio 40000 RTP/AVP 9', 'a=rtpmap:9 G722/8000', ''].join('\r\n');
    const { response } = await l.alice.ua!.request('INVITE', BOB, { body: sdp, contentType: 'application/sdp' });
    expect(response.status).toBe(488);
    expect(response.headers.get('Warning')).toBe(`305 ${B} "Incompatible media format"`);
    expect(l.bob.calls).toEqual([]);
  });

  it('malformed SDP: 400 with the reason, nothing changes at the callee', async () => {
    const l = await lab();
    const { response } = await l.alice.ua!.request('INVITE', BOB, { body: 'v=0\r\nm=audio notaport RTP/AVP 0\r\n', contentType: 'application/sdp' });
    expect(response.status).toBe(400);
    expect(response.reason).toMatch(/^Bad Request \(malformed SDP: /);
    expect(response.headers.get('Warning')).toMatch(/^399 127\.0\.45\.2 "malformed SDP/);
    expect(l.bob.calls).toEqual([]);
    expect(l.bob.ua!.dialogCount).toBe(0);
  });

  it('BYE for a dialog that does not exist: 481', async () => {
    const l = await lab();
    const { response } = await l.alice.ua!.request('BYE', BOB, { to: `<${BOB}>;tag=nosuchdialog` });
    expect(response.status).toBe(481);
  });

  it('MESSAGE (RFC 3428): text/plain with P-Preferred-Identity, 200, kept by the receiver; other types get 415', async () => {
    const l = await lab();
    const outcome = await l.alice.message(BOB, 'Hello from alice', { routeSet: [] });
    expect(outcome).toEqual({ status: 200, reason: 'OK' });
    const sent = firstRequest(l, 'alice', 'MESSAGE');
    expect(sent.headers.get('Content-Type')).toBe('text/plain;charset=UTF-8');
    expect(sent.headers.get('P-Preferred-Identity')).toBe(`<${ALICE}>`);
    expect(sent.headers.has('Contact')).toBe(false);
    expect(l.bob.messagesReceived).toHaveLength(1);
    expect(l.bob.messagesReceived[0]).toMatchObject({ text: 'Hello from alice' });
    expect(l.bob.messagesReceived[0]!.from).toMatch(/^<sip:alice@/);
    expect(l.alice.lastStatus).toBe(200);

    const { response } = await l.alice.ua!.request('MESSAGE', BOB, { body: '<x/>', contentType: 'application/xml' });
    expect(response.status).toBe(415);
    expect(response.headers.get('Accept')).toBe('text/plain');
    expect(l.bob.messagesReceived).toHaveLength(1);
  });

  it('stop() of a UE in a call sends BYE and closes its media', async () => {
    const l = await lab();
    const call = l.alice.call(BOB, { routeSet: [] });
    await call.settled();
    const bobCall = l.bob.calls[0]!;
    await l.alice.stop();
    expect(call.state.state).toBe('terminated');
    expect(firstRequest(l, 'alice', 'BYE')).toBeDefined();
    expect((await stateOf(bobCall, 'terminated')).reason).toBe('hung up by the peer');
    labs = labs.filter((x) => x !== l);
    await l.bob.stop();
  });

  it('refuses targets that are not URIs and codecs it cannot offer, with the reason', async () => {
    const l = await lab();
    expect(() => l.alice.call('bob')).toThrow(/not a sip:, sips: or tel: URI/);
    expect(() => l.alice.call(BOB, { codec: 'G729' })).toThrow(/G729 cannot be offered/);
    expect(l.alice.calls).toEqual([]);
  });
});
