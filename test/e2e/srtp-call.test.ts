import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/topology/loader.js';
import type { NoteEvent, PacketEvent } from '../../src/trace/events.js';
import { parseMessage } from '../../src/sip/parser.js';
import { isRequest } from '../../src/sip/message.js';
import { decodeRtp } from '../../src/rtp/packet.js';
import { createPayloadSource } from '../../src/rtp/frames.js';
import { SrtpContext } from '../../src/rtp/srtp/index.js';
import { cryptoAttributesByMedia, parseCryptoAttribute, usableMasterKey } from '../../src/sdp/crypto.js';
import { mediaPlan } from '../../src/ue/media-plan.js';
import { playScenario } from './helpers/play.js';

/**
 * basic.yaml with `srtp: true` on both UEs (issue 8 point 4), moved to 127.62.x.x so it runs beside the other
 * e2e files: alice's INVITE offers RTP/SAVP with SDES keys (RFC 4568), bob answers one a=crypto, and the
 * 2 s call's media is SRTP (RFC 3711) both ways through the core's signalling path.
 */
const ALICE = '127.62.10.1';
const BOB = '127.62.10.2';

/** Re-offers from either side (RFC 3264 §8.4) in an SRTP call, then RFC 4733 digits over SRTP. */
const HOLD_SCENARIO = `
  hold-resume:
    - register: alice
    - register: bob
    - call: { from: alice, to: bob, until: hangup }
    - hold: alice
    - wait: 300ms
    - resume: alice
    - hold: bob
    - wait: 300ms
    - resume: bob
    - dtmf: { ue: alice, digits: "19" }
    - wait: 300ms
    - hangup: alice
    - expect: { dtmfReceived: { ue: bob, digits: "19" } }
    - deregister: alice
    - deregister: bob
`;

function srtpTopology() {
  const text = readFileSync(join(__dirname, '../../topologies/basic.yaml'), 'utf8')
    .replace(/127\.0\.(\d+)\.(\d+)/g, '127.62.$1.$2')
    .replace(/^(\s+)transport: udp$/gm, '$1transport: udp\n$1srtp: true')
    .concat(HOLD_SCENARIO);
  expect(text.match(/srtp: true/g)).toHaveLength(2);
  return parseTopology(text, 'basic-srtp.yaml');
}

describe('an SRTP call end to end (basic.yaml, UEs with srtp: true)', () => {
  it('RTP/SAVP offer and answer with SDES keys, SRTP both ways without loss or failures, no plain G.711 on the wire', async () => {
    const topology = srtpTopology();
    expect(topology.ues.map((u) => u.srtp)).toEqual([true, true]);
    const { events, failed } = await playScenario(topology, 'default', 7);
    expect(failed).toBeUndefined();

    // The offer as bob received it (after the P-CSCFs and S-CSCF) and bob's answer as alice received it.
    const sip = events
      .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.direction === 'recv')
      .map((e) => ({ e, m: parseMessage(e.bytes) }));
    const invite = sip.find(({ e, m }) => e.node === 'bob' && isRequest(m) && m.method === 'INVITE')!.m.body.toString();
    const ok = sip.find(({ e, m }) => e.node === 'alice' && !isRequest(m) && m.status === 200 && m.headers.get('CSeq')!.endsWith(' INVITE'))!.m.body.toString();
    expect(invite).toMatch(/^m=audio \d+ RTP\/SAVP /m);
    expect(ok).toMatch(/^m=audio \d+ RTP\/SAVP /m);
    const offered = cryptoAttributesByMedia(invite)[0]!.map(parseCryptoAttribute);
    const answered = cryptoAttributesByMedia(ok)[0]!.map(parseCryptoAttribute);
    expect(offered.map((c) => c.suite)).toEqual(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']);
    expect(answered).toHaveLength(1);
    expect(answered[0]).toMatchObject({ tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80' });

    // RFC 3550 §6.4.1 statistics of both UEs: ~100 packets each way, none lost, none failing SRTP.
    const stats = events.filter((e): e is NoteEvent => e.type === 'note' && e.clause === 'RFC 3550 §6.4.1');
    expect(stats.map((n) => n.node).sort()).toEqual(['alice', 'bob']);
    for (const n of stats) {
      expect(n.data!['lost']).toBe(0);
      expect(n.data!['received'] as number).toBeGreaterThanOrEqual(90);
      expect(n.data!['srtp']).toBe('AES_CM_128_HMAC_SHA1_80');
      expect(n.data!['srtpAuthFailures']).toBe(0);
      expect(n.data!['srtpReplayed']).toBe(0);
      expect(n.data!['unexpected']).toBe(0);
    }

    // Alice's packets on the wire: header, 160 octets that are not her tone, an 80-bit tag. With the key she
    // offered under the answered tag, they decrypt to exactly the G.711 frames her tone source makes.
    const wire = events.filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'rtp' && e.direction === 'send' && e.local.address === ALICE);
    expect(wire.length).toBeGreaterThanOrEqual(90);
    expect(wire.every((e) => e.remote.address === BOB)).toBe(true);
    const aliceKey = usableMasterKey(offered.find((c) => c.tag === answered[0]!.tag)!)!;
    const rx = new SrtpContext(aliceKey.master, aliceKey.suite);
    const tone = createPayloadSource({ payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1 }, mediaPlan('alice', 0).toneHz);
    for (const e of wire) {
      const frame = tone.next();
      expect(e.bytes.length).toBe(12 + 160 + 10);
      expect(decodeRtp(e.bytes).payload.subarray(0, 160).equals(frame)).toBe(false);
      expect(e.bytes.includes(frame.subarray(0, 16))).toBe(false);
      expect(decodeRtp(rx.unprotectRtp(e.bytes)).payload.equals(frame)).toBe(true);
    }
  }, 60_000);

  it('hold and resume from either side keep the SDES keys (RFC 4568 §7.1.4): no re-key, no SRTP failure, DTMF arrives', async () => {
    const topology = srtpTopology();
    const { events, failed } = await playScenario(topology, 'hold-resume', 11);
    expect(failed).toBeUndefined();

    // Every INVITE a UE sent (the first and four re-INVITEs) carries a=crypto; each side always offers the same key.
    const invites = events
      .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.direction === 'send' && (e.node === 'alice' || e.node === 'bob'))
      .map((e) => ({ node: e.node, m: parseMessage(e.bytes) }))
      .filter(({ m }) => isRequest(m) && m.method === 'INVITE');
    const keysBy = (node: string) => new Set(invites.filter((i) => i.node === node).map((i) => cryptoAttributesByMedia(i.m.body.toString())[0]!.join(' ')));
    expect(invites.length).toBeGreaterThanOrEqual(5);
    expect(keysBy('alice').size).toBe(1);
    expect(keysBy('bob').size).toBe(1);

    const stats = events.filter((e): e is NoteEvent => e.type === 'note' && e.clause === 'RFC 3550 §6.4.1');
    expect(stats.map((n) => n.node).sort()).toEqual(['alice', 'bob']);
    for (const n of stats) {
      expect(n.data!['srtpAuthFailures']).toBe(0);
      expect(n.data!['srtpReplayed']).toBe(0);
      expect(n.data!['lost']).toBe(0);
    }
  }, 60_000);
});
