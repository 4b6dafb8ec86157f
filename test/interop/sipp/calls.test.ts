/**
 * SIPp calls through the core in both directions (issue 5 "How it will be checked", issue 6 point 2):
 *  - SIPp registers with its own IMS AKA and calls bob, a simulated UE: 100/180/200, ACK, RTP from a G.711 pcap
 *    made with imslab's encoder, BYE/200 (interop/sipp/call-uac-aka.xml);
 *  - SIPp registers as carol and waits; alice, a simulated UE, calls sip:carol@… and SIPp answers, echoing the
 *    RTP it receives (interop/sipp/call-uas-register-aka.xml with call-uas.xml as out-of-call scenario).
 * Judged by SIPp's exit code and statistics, by what the UEs saw (call states, RFC 3550 receive statistics),
 * by the hops in the trace, and by a tshark capture on loopback (nothing malformed, one RTP stream each way).
 *
 * The core (basic.yaml with its UEs) runs in this process on 127.0.55.1-4, alice .10, bob .11; SIPp uses .20
 * and .21. Needs sipp and tshark (skips, saying so, without them) and root for the capture.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeG711Pcap } from '../../../interop/sipp/make-g711-pcap.js';
import { formatUserFile, type SippUser } from '../../../interop/sipp/make-users.js';
import { isRequest, type SipMessage } from '../../../src/sip/message.js';
import { parseMessage } from '../../../src/sip/parser.js';
import { loadTopology } from '../../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../../src/topology/runner.js';
import type { NoteEvent, PacketEvent, TraceEvent } from '../../../src/trace/events.js';
import type { Call, CallState } from '../../../src/ue/call.js';
import { Ue } from '../../../src/ue/ue.js';
import { skipReason } from '../helpers/peers.js';
import { DOMAIN, SCENARIOS, countOf, describeRun, runSipp, startCapture, tsharkFields, writeServeTopology, type SippOptions, type SippRun } from './harness.js';

const NET = '127.0.55';
const P = `${NET}.1`;
const I = `${NET}.2`;
const S = `${NET}.3`;
const ALICE = `${NET}.10`;
const BOB = `${NET}.11`;
const SIPP_UAC = `${NET}.20`;
const SIPP_UAS = `${NET}.21`;
const MEDIA_PORT = 6000;

/** SIPp's users: 16-character K and OP, 2-character AMF, as SIPp takes them (docs/interop.md). */
const caller: SippUser = { impi: `sippa@${DOMAIN}`, impu: `sip:sippa@${DOMAIN}`, user: 'sippa', k: 'Vq3hTz8LwYp2RcKd', op: 'mOp4Xe7sJd1QaZ9u', amf: 'am' };
const callee: SippUser = { impi: `carol@${DOMAIN}`, impu: `sip:carol@${DOMAIN}`, user: 'carol', k: 'Gt6yNb2WqRs8LmPx', op: 'mOp4Xe7sJd1QaZ9u', amf: 'am' };

let dir: string;
let run: RunningTopology | undefined;
const events: TraceEvent[] = [];
const report: string[] = [];

/** The shared runSipp with what calls need: SIPp's media address and port. */
function runSippCall(o: SippOptions, extra: string[], onSpawn?: () => void): Promise<SippRun> {
  return runSipp(o, ['-mi', o.local, '-mp', String(MEDIA_PORT), ...extra], onSpawn);
}

function sent(e: TraceEvent): e is PacketEvent {
  return e.type === 'packet' && e.direction === 'send';
}

function sipSent(): Array<{ e: PacketEvent; m: SipMessage }> {
  return events.filter((e): e is PacketEvent => sent(e) && e.protocol === 'sip').map((e) => ({ e, m: parseMessage(e.bytes) }));
}

/**
 * The addresses a request went through: where the P-CSCF received it from, then every hop a node sent it on
 * (retransmissions folded), ending at its last receiver.
 */
function hops(method: string, callId: string): string[] {
  const path: string[] = [];
  let last = '';
  for (const e of events) {
    if (e.type !== 'packet' || e.protocol !== 'sip') continue;
    if (e.direction === 'recv' && path.length > 0) continue;
    const m = parseMessage(e.bytes);
    if (!isRequest(m) || m.method !== method || m.headers.get('Call-ID') !== callId) continue;
    const [a, b] = e.direction === 'send' ? [e.local.address, e.remote.address] : [e.remote.address, e.local.address];
    if (`${a}>${b}` === last) continue;
    last = `${a}>${b}`;
    if (path.length === 0) path.push(a);
    path.push(b);
  }
  return path;
}

/** The receive statistics a UE's RTP session noted at hang-up (RFC 3550 §6.4.1). */
function rtpStats(ue: string): Record<string, unknown>[] {
  return events.filter((e): e is NoteEvent => e.type === 'note' && e.node === ue && e.clause === 'RFC 3550 §6.4.1').map((n) => n.data!);
}

function why(r: SippRun): string {
  return `sipp ${r.args.join(' ')}\n${r.errors}\n${r.output.slice(-3000)}`;
}

/** tshark's RTP stream table over the capture: source, destination, packets and lost per stream. */
async function rtpStreams(file: string): Promise<Array<{ src: string; dst: string; packets: number; lost: number; payload: string }>> {
  // RTP on ports no signalling in the file announces: Wireshark's heuristic dissector finds it (RFC 3550 §5.1 header).
  const fields = ['ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'rtp.ssrc', 'rtp.p_type', 'rtp.seq'].flatMap((f) => ['-e', f]);
  const out = await new Promise<string>((resolve, reject) =>
    execFile('tshark', ['-r', file, '-o', 'rtp.heuristic_rtp:TRUE', '-Y', 'rtp && !rtcp', '-T', 'fields', ...fields], { maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`tshark -r ${file}: ${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  const rows = out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  const streams = new Map<string, { src: string; dst: string; seqs: number[]; payload: string }>();
  for (const [src, sport, dst, dport, ssrc, pt, seq] of rows) {
    const key = `${src}:${sport}>${dst}:${dport}/${ssrc}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { src: `${src}:${sport}`, dst: `${dst}:${dport}`, seqs: [], payload: pt! }));
    s.seqs.push(Number(seq));
  }
  return [...streams.values()].map((s) => {
    const span = ((s.seqs[s.seqs.length - 1]! - s.seqs[0]! + 0x1_0000) % 0x1_0000) + 1;
    return { src: s.src, dst: s.dst, packets: s.seqs.length, lost: span - new Set(s.seqs).size, payload: s.payload };
  });
}

const skip = skipReason(['sipp', 'tshark'], 'sip-tester tshark');

describe.skipIf(skip !== undefined)('SIPp calls through the core in both directions', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-sipp-calls-'));
    writeFileSync(join(dir, 'caller.csv'), formatUserFile([caller], 'aka'));
    writeFileSync(join(dir, 'callee.csv'), formatUserFile([callee], 'aka'));
    writeFileSync(join(dir, 'subscribers.csv'), formatUserFile([caller, callee], 'aka'));
    // SIPp looks for play_pcap_audio's file next to the scenario, then in its working directory: here.
    writeFileSync(join(dir, 'g711-pcmu.pcap'), makeG711Pcap({ seconds: 2, codec: 'PCMU' }));
    // basic.yaml with its UEs, moved onto NET; SIPp's two subscribers imported next to alice and bob.
    writeServeTopology(join(dir, 'topology.yaml'), NET, join(dir, 'subscribers.csv'), { keepUes: true, name: 'sipp-calls' });
    run = await startTopology(loadTopology(join(dir, 'topology.yaml')), { dataDir: join(dir, 'data') });
    run.bus.events$.subscribe((e) => events.push(e));
    await run.ue('alice').register();
    await run.ue('bob').register();
  }, 60_000);

  afterAll(async () => {
    await run?.stop();
    if (report.length > 0) console.log(['SIPp calls through imslab:', ...report].join('\n  '));
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('make-g711-pcap.ts writes 100 PCMU packets of 20 ms with imslab encoder, reproducibly; bad options are refused', async () => {
    const file = join(dir, 'g711-pcmu.pcap');
    expect(readFileSync(file).equals(makeG711Pcap({ seconds: 2, codec: 'PCMU' })), 'the same options give the same file').toBe(true);
    const streams = await rtpStreams(file);
    expect(streams).toEqual([{ src: '127.0.0.1:6000', dst: '127.0.0.2:6000', packets: 100, lost: 0, payload: '0' }]);
    expect(makeG711Pcap({ seconds: 1, codec: 'PCMA' }).length).toBeLessThan(readFileSync(file).length);
    expect(() => makeG711Pcap({ seconds: 0 })).toThrow(/seconds/);
    expect(() => makeG711Pcap({ toneHz: 5000 })).toThrow(/tone/);
    expect(() => makeG711Pcap({ codec: 'G729' as never })).toThrow(/codec/);
  });

  it('SIPp registers with IMS AKA and calls bob: 180, 200, ACK, RTP both ways without loss, BYE 200, clean capture', async () => {
    const pcap = join(dir, 'sipp-uac.pcapng');
    const capture = await startCapture(pcap, `net ${NET}.0/24`, 60);
    const from = events.length;
    let r: SippRun;
    try {
      r = await runSippCall(
        { scenario: 'call-uac-aka.xml', users: join(dir, 'caller.csv'), transport: 'u1', local: SIPP_UAC, remote: `${P}:5060`, calls: 1, rate: 1, limit: 1, dir, timeoutSec: 30, label: 'uac' },
        ['-set', 'callee', 'bob'],
      );
    } finally {
      await capture.stop();
    }
    report.push(describeRun('SIPp → bob', r));
    expect(r.code, why(r)).toBe(0);
    expect(Number(r.stats['SuccessfulCall(C)']), why(r)).toBe(1);
    expect(Number(r.stats['FailedCall(C)']), why(r)).toBe(0);
    expect(countOf(r, '_180_Recv'), why(r)).toBe(1);
    expect(countOf(r, '_200_Recv'), why(r)).toBe(3); // REGISTER, INVITE, BYE

    // TS 24.228 §7.2: SIPp → P → S(orig) → I (LIR) → S(term) → P → bob; bob got the ACK and the BYE.
    const invite = sipSent().find(({ e, m }) => isRequest(m) && m.method === 'INVITE' && e.remote.address === BOB)!;
    expect(invite, 'bob never got an INVITE').toBeDefined();
    const callId = invite.m.headers.get('Call-ID')!;
    expect(hops('INVITE', callId)).toEqual([SIPP_UAC, P, S, I, S, P, BOB]);
    expect(invite.m.headers.get('P-Asserted-Identity')).toContain(caller.impu);
    const later = events.slice(from).filter((e): e is PacketEvent => e.type === 'packet' && e.direction === 'recv' && e.node === 'bob' && e.protocol === 'sip');
    const methods = later.map((e) => parseMessage(e.bytes)).filter(isRequest).map((m) => m.method);
    expect(methods).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'BYE']));

    // bob's receiver: the pcap's 100 packets, none lost (RFC 3550 §6.4.1); SIPp's RTP came from its media port.
    const bob = rtpStats('bob').at(-1)!;
    expect(bob, 'bob noted no RTP statistics').toBeDefined();
    expect(bob['received']).toBe(100);
    expect(bob['lost']).toBe(0);
    expect(bob['unexpected']).toBe(0);

    const bad = await tsharkFields(pcap, '_ws.malformed || _ws.expert.severity == error', ['frame.number', 'ip.src', 'ip.dst', '_ws.col.Info']);
    expect(bad, 'malformed or erroneous packets').toEqual([]);
    const streams = (await rtpStreams(pcap)).filter((s) => s.packets > 10);
    const toBob = streams.filter((s) => s.src === `${SIPP_UAC}:${MEDIA_PORT}` && s.dst.startsWith(`${BOB}:`));
    const fromBob = streams.filter((s) => s.src.startsWith(`${BOB}:`) && s.dst === `${SIPP_UAC}:${MEDIA_PORT}`);
    expect(toBob, JSON.stringify(streams)).toHaveLength(1);
    expect(fromBob, JSON.stringify(streams)).toHaveLength(1);
    // bob's own count above is exact; the capture window (tshark -a duration) may clip a packet at its edge.
    expect(toBob[0]).toMatchObject({ lost: 0, payload: '0' });
    expect(toBob[0]!.packets).toBeGreaterThanOrEqual(95);
    expect(toBob[0]!.packets).toBeLessThanOrEqual(100);
    // bob plays its tone from the 200 until the BYE: about 2 s of 20 ms packets, less what the capture window clips.
    expect(fromBob[0]!.packets).toBeGreaterThanOrEqual(90);
    expect(fromBob[0]!.packets).toBeLessThanOrEqual(150);
    expect(fromBob[0]).toMatchObject({ lost: 0, payload: '0' });
    report.push(`SIPp → bob capture: RTP ${toBob[0]!.packets} packets SIPp → bob, ${fromBob[0]!.packets} bob → SIPp, none lost, nothing malformed`);
  }, 90_000);

  it('alice calls carol, a SIPp UAS registered with IMS AKA: 180, 200, RTP reaches SIPp media port and comes back, BYE 200', async () => {
    // SIPp is registered once the P-CSCF forwards it the 200 to its REGISTER (TS 24.229 §5.2.2.1).
    const registered = firstValueFrom(
      run!.bus.events$.pipe(
        filter((e) => sent(e) && e.protocol === 'sip' && e.local.address === P && e.remote.address === SIPP_UAS),
        filter((e) => {
          const m = parseMessage((e as PacketEvent).bytes);
          return !isRequest(m) && m.status === 200 && m.headers.get('CSeq')!.endsWith('REGISTER');
        }),
        timeout(20_000),
      ),
    );
    const pcap = join(dir, 'sipp-uas.pcapng');
    const capture = await startCapture(pcap, `net ${NET}.0/24`, 60);
    const states: CallState[] = [];
    let call: Call | undefined;
    let r: SippRun;
    try {
      const sipp = runSippCall(
        { scenario: 'call-uas-register-aka.xml', users: join(dir, 'callee.csv'), transport: 'u1', local: SIPP_UAS, remote: `${P}:5060`, calls: 1, rate: 1, limit: 1, dir, timeoutSec: 40, label: 'uas' },
        ['-oocsf', join(SCENARIOS, 'call-uas.xml'), '-s', 'carol', '-rtp_echo'],
      );
      await registered;
      const alice = run!.ue('alice');
      if (!(alice instanceof Ue)) throw new Error('alice is not a simulated UE that can call');
      call = alice.call(callee.impu, { durationMs: 2000 });
      const placed = call;
      placed.state$.subscribe((s) => states.push(s));
      const ended = firstValueFrom(placed.state$.pipe(filter((s) => s.state === 'terminated'), timeout(20_000)));
      await ended;
      r = await sipp;
    } finally {
      await capture.stop();
    }
    report.push(describeRun('alice → SIPp', r));
    const answers = events
      .filter((e): e is PacketEvent => e.type === 'packet' && e.direction === 'recv' && e.node === 'alice' && e.protocol === 'sip')
      .map((e) => parseMessage(e.bytes))
      .filter((m) => !isRequest(m) && m.headers.get('Call-ID') === call!.callId)
      .map((m) => `${(m as { status: number }).status} ${m.headers.get('CSeq')}`);
    expect(states.map((s) => `${s.state}${s.status ?? ''}`), `alice received: ${answers.join(', ')}`).toEqual(['trying', 'ringing180', 'confirmed200', 'terminated200']);
    expect(states.at(-1)!.reason).toMatch(/BYE answered 200/);
    expect(r.code, why(r)).toBe(0);
    expect(Number(r.stats['SuccessfulCall(C)']), why(r)).toBe(1);
    expect(Number(r.stats['FailedCall(C)']), why(r)).toBe(0);

    // alice's RTP went to the c=/m= of SIPp's answer, and SIPp's echo came back to her: every packet she sent.
    const toSipp = events.filter((e): e is PacketEvent => sent(e) && e.protocol === 'rtp' && e.local.address === ALICE && e.remote.address === SIPP_UAS);
    expect(toSipp.length).toBeGreaterThanOrEqual(90);
    expect(new Set(toSipp.map((e) => e.remote.port))).toEqual(new Set([MEDIA_PORT]));
    const alice = rtpStats('alice').at(-1)!;
    expect(alice['sent']).toBe(toSipp.length);
    expect(alice['received']).toBeGreaterThanOrEqual(toSipp.length - 2); // the last packets may cross the BYE
    expect(alice['lost']).toBe(0);

    const bad = await tsharkFields(pcap, '_ws.malformed || _ws.expert.severity == error', ['frame.number', 'ip.src', 'ip.dst', '_ws.col.Info']);
    expect(bad, 'malformed or erroneous packets').toEqual([]);
    // On the wire: the INVITE reached SIPp from the P-CSCF, and RTP went both ways between alice and SIPp's media port.
    const invites = await tsharkFields(pcap, `sip.Method == "INVITE" && ip.dst == ${SIPP_UAS}`, ['ip.src']);
    expect(invites.map(([src]) => src)).toContain(P);
    const streams = (await rtpStreams(pcap)).filter((s) => s.packets > 10);
    expect(streams.filter((s) => s.src.startsWith(`${ALICE}:`) && s.dst === `${SIPP_UAS}:${MEDIA_PORT}`), JSON.stringify(streams)).toHaveLength(1);
    expect(streams.filter((s) => s.src === `${SIPP_UAS}:${MEDIA_PORT}` && s.dst.startsWith(`${ALICE}:`)), JSON.stringify(streams)).toHaveLength(1);
    report.push(`alice → SIPp: alice sent ${alice['sent']} RTP packets to ${SIPP_UAS}:${MEDIA_PORT}, SIPp echoed ${alice['received']} back, none lost`);
  }, 90_000);
});
