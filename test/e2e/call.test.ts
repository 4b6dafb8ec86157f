import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/loader.js';
import type { NoteEvent, PacketEvent, TraceEvent } from '../../src/trace/events.js';
import { tempPcap } from '../helpers/temp-pcap.js';
import { parseMessage } from '../../src/sip/parser.js';
import { isRequest, type SipMessage } from '../../src/sip/message.js';
import { playScenario } from './helpers/play.js';

/**
 * basic.yaml's default scenario through the runner, as `npm start` runs it: register, a 2 s call from alice
 * to bob (TS 24.228 §7.2 / TS 24.229 §5.1.2A, §5.4.3, §5.3.2) with RTP both ways, a MESSAGE, de-register.
 */
const hasTshark = existsSync('/usr/bin/tshark');
const UE_A = '127.0.10.1';
const UE_B = '127.0.10.2';
const P = '127.0.1.1';
const I = '127.0.2.1';
const S = '127.0.3.1';

interface Sip {
  e: PacketEvent;
  m: SipMessage;
}

function sipPackets(events: TraceEvent[], direction: 'send' | 'recv'): Sip[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.direction === direction)
    .map((e) => ({ e, m: parseMessage(e.bytes) }));
}

const isMethod = (m: SipMessage, method: string) => isRequest(m) && m.method === method;
const isAnswer = (m: SipMessage, status: number, method: string) => !isRequest(m) && m.status === status && m.headers.get('CSeq')!.endsWith(` ${method}`);

/** The hops a request took: the sending addresses in order, then the last receiver; retransmissions folded. */
function hops(events: TraceEvent[], method: string): string[] {
  const path: string[] = [];
  let last = '';
  for (const { e, m } of sipPackets(events, 'send')) {
    if (!isMethod(m, method)) continue;
    const hop = `${e.local.address}>${e.remote.address}`;
    if (hop === last) continue;
    last = hop;
    if (path.length === 0) path.push(e.local.address);
    path.push(e.remote.address);
  }
  return path;
}

/** Diameter command codes a node sent, with R for requests and A for answers (RFC 6733 §3). */
function diameterSent(events: TraceEvent[], address: string): string[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'diameter' && e.direction === 'send' && e.local.address === address)
    .map((e) => `${e.bytes.readUIntBE(5, 3)}${(e.bytes[4]! & 0x80) !== 0 ? 'R' : 'A'}`);
}

describe('a call and a message end to end (basic.yaml default scenario)', () => {
  it('INVITE via P → S → I (LIR) → S → P, RTP both ways without loss, BYE, MESSAGE, clean captures', async () => {
    const topology = loadTopology(join(__dirname, '../../topologies/basic.yaml'));
    const { events, result, failed } = await playScenario(topology, 'default', 7);
    expect(failed).toBeUndefined();
    expect(result.steps.map((s) => s.ok)).toEqual(topology.scenarios['default']!.map(() => true));

    // TS 24.228 §7.2: originating P-CSCF and S-CSCF, the I-CSCF of the home network, terminating S and P.
    expect(hops(events, 'INVITE')).toEqual([UE_A, P, S, I, S, P, UE_B]);
    // TS 29.228 §6.1.4: the I-CSCF asks the HSS where bob is served (LIR 302) and gets the LIA.
    const cx = diameterSent(events, I);
    expect(cx).toContain('302R');
    expect(diameterSent(events, '127.0.4.1')).toContain('302A');

    const recv = sipPackets(events, 'recv');
    // bob gets the INVITE and the BYE; alice gets the 200 for each; MESSAGE likewise.
    expect(recv.some(({ e, m }) => e.node === 'bob' && isMethod(m, 'INVITE'))).toBe(true);
    expect(recv.some(({ e, m }) => e.node === 'alice' && isAnswer(m, 200, 'INVITE'))).toBe(true);
    expect(recv.some(({ e, m }) => e.node === 'bob' && isMethod(m, 'ACK'))).toBe(true);
    expect(recv.some(({ e, m }) => e.node === 'bob' && isMethod(m, 'BYE'))).toBe(true);
    expect(recv.some(({ e, m }) => e.node === 'alice' && isAnswer(m, 200, 'BYE'))).toBe(true);
    expect(recv.some(({ e, m }) => e.node === 'bob' && isMethod(m, 'MESSAGE') && m.body.toString() === 'Hello from alice')).toBe(true);
    expect(recv.some(({ e, m }) => e.node === 'alice' && isAnswer(m, 200, 'MESSAGE'))).toBe(true);
    expect(hops(events, 'MESSAGE')).toEqual([UE_A, P, S, I, S, P, UE_B]);

    // RTP: one stream per direction, 20 ms packets for the 2 s call (≈ 100 each), no loss (RFC 3550 §6.4.1).
    const stats = events.filter((e): e is NoteEvent => e.type === 'note' && e.clause === 'RFC 3550 §6.4.1');
    expect(stats.map((n) => n.node).sort()).toEqual(['alice', 'bob']);
    for (const n of stats) {
      expect(n.data!['lost']).toBe(0);
      expect(n.data!['received'] as number).toBeGreaterThanOrEqual(90);
      expect(n.data!['received'] as number).toBeLessThanOrEqual(130);
    }
    const rtp = events.filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'rtp' && e.direction === 'send');
    expect(rtp.filter((e) => e.local.address === UE_A).length).toBeGreaterThanOrEqual(90);
    expect(rtp.filter((e) => e.local.address === UE_B).length).toBeGreaterThanOrEqual(90);

    if (!hasTshark) throw new Error('tshark is required for this test (apt-get install tshark)');
    const pcap = tempPcap(events, 'call.pcap');
    const malformed = execFileSync('tshark', ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-Y', '_ws.malformed || _ws.expert.severity == error'], { encoding: 'utf8' });
    expect(malformed.trim()).toBe('');
    const streams = execFileSync('tshark', ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-q', '-z', 'rtp,streams'], { encoding: 'utf8' });
    const rows = streams.split('\n').filter((l) => /0x[0-9A-Fa-f]{8}/.test(l));
    expect(rows, streams).toHaveLength(2);
    for (const row of rows) expect(row).toMatch(/\b0 \(0\.0%\)/);
  }, 60_000);
});
