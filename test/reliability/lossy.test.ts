import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransactionLayer } from '../../src/sip/transaction/layer.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';
import { runScenario } from '../../src/topology/scenario.js';
import { TOKENS } from '../../src/topology/tokens.js';
import type { NoteEvent } from '../../src/trace/events.js';
import { tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** topologies/lossy.yaml moved to this folder's addresses (127.0.53.6x) and ports 25060/23868. */
function lossyHere(): string {
  const moves: Array<[string, string]> = [
    ['127.0.1.1', '127.0.53.61'],
    ['127.0.2.1', '127.0.53.62'],
    ['127.0.3.1', '127.0.53.63'],
    ['127.0.4.1', '127.0.53.64'],
    ['127.0.10.1', '127.0.53.68'],
    ['127.0.10.2', '127.0.53.69'],
    ['udp: 5060, tcp: 5060', 'udp: 25060, tcp: 25060'],
    ['diameter: 3868', 'diameter: 23868'],
  ];
  let text = readFileSync(new URL('../../topologies/lossy.yaml', import.meta.url), 'utf8');
  for (const [from, to] of moves) {
    expect(text).toContain(from);
    text = text.split(from).join(to);
  }
  return text;
}

describe('topologies/lossy.yaml: 20 % loss on the access links in both directions (issue 8 point 1)', () => {
  it('register, a 1 s call, a message and deregistration all succeed through RFC 3261 retransmissions', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const topology = parseTopology(lossyHere());
    expect(topology.nodes.find((n) => n.name === 'pcscf1')!.impairment!.loss).toBe(0.2);
    expect(topology.ues.map((u) => u.impairment?.loss)).toEqual([0.2, 0.2]);
    const run = await startTopology(topology, { dataDir: dir.path });
    cleanups.push(() => run.stop());
    const notes: NoteEvent[] = [];
    const sub = run.bus.events$.subscribe((e) => e.type === 'note' && notes.push(e));
    cleanups.push(() => sub.unsubscribe());

    const result = await runScenario(run, 'default', topology.scenarios.default!);
    expect(result.steps.map((s) => [s.label, s.ok, s.reason])).toEqual(result.steps.map((s) => [s.label, true, undefined]));

    // Losses happened on the P-CSCF's and on each UE's link, and were made good by retransmissions.
    const lost = (node: string) => notes.filter((n) => n.node === node && n.text.startsWith('link impairment: datagram to')).length;
    for (const node of ['pcscf1', 'alice', 'bob']) expect(lost(node), node).toBeGreaterThan(0);
    expect(lost('icscf1') + lost('scscf1')).toBe(0);
    const retransmitted = ['pcscf1', 'icscf1', 'scscf1', 'alice', 'bob'].map(
      (n) => run.containers.get(n)!.get<TransactionLayer>(TOKENS.Transactions).counters.retransmissionsSent,
    );
    expect(retransmitted.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    // RTP statistics are truthful: what was expected and did not arrive is what is reported lost.
    type Stats = { sent: number; received: number; expected: number; lost: number };
    const rtpNotes = notes.filter((n) => n.text.startsWith('RTP stream '));
    const rtp = rtpNotes.map((n) => n.data as Stats);
    expect(rtp.length).toBeGreaterThanOrEqual(2);
    for (const s of rtp) {
      expect(s.sent).toBeGreaterThan(30);
      expect(s.lost).toBe(Math.max(0, s.expected - s.received));
    }
    // The UEs' RTP crosses their lossy access links too: at 20 % each side loses some of what the other sent.
    const of = (ue: string) => rtpNotes.find((n) => n.node === ue)!.data as Stats;
    for (const [ue, peer] of [['alice', 'bob'], ['bob', 'alice']] as const) {
      expect(of(ue).lost, `${ue} lost`).toBeGreaterThan(0);
      expect(of(ue).received, `${ue} received`).toBeLessThan(of(peer).sent);
    }
  }, 120_000);
});
