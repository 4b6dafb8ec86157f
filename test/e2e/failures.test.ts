import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import { runScenario, type ScenarioResult } from '../../src/topology/scenario.js';
import { TOKENS } from '../../src/topology/tokens.js';
import type { NoteEvent, PacketEvent, TraceEvent } from '../../src/trace/events.js';
import type { TransactionLayer } from '../../src/sip/transaction/index.js';
import { parseMessage } from '../../src/sip/parser.js';
import { isRequest, type SipMessage } from '../../src/sip/message.js';
import { Ue } from '../../src/ue/index.js';

/**
 * topologies/failures.yaml through the full core (127.0.94.x): each failure case of issue 5 point 6 as a
 * named scenario that passes only when the call fails with the status the specs give, that status on the
 * wire to the caller, the refusing node's reason on the trace; then the VoLTE session features (QoS
 * preconditions, hold/resume, DTMF). After every scenario no call, dialog, proxy context or live transaction
 * is left in any node.
 */
const topology = loadTopology(join(__dirname, '../../topologies/failures.yaml'));
let run: RunningTopology;
let events: TraceEvent[] = [];

beforeAll(async () => {
  run = await startTopology(topology, { seed: 5 });
  run.bus.events$.subscribe((e) => events.push(e));
});

afterAll(async () => {
  await run?.stop();
});

async function scenario(name: string): Promise<ScenarioResult> {
  events = [];
  const result = await runScenario(run, name, topology.scenarios[name]!);
  const failed = result.steps.find((s) => !s.ok);
  expect(failed ? `${failed.label}: ${failed.reason}` : undefined).toBeUndefined();
  await drained();
  return result;
}

/** SIP messages a node received, parsed. */
function received(node: string): SipMessage[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.node === node && e.direction === 'recv')
    .map((e) => parseMessage(e.bytes));
}

function finalsTo(node: string, method: string): number[] {
  return received(node)
    .filter((m) => !isRequest(m) && m.status >= 200 && m.headers.get('CSeq')!.endsWith(` ${method}`))
    .map((m) => (m as { status: number }).status);
}

/** The note a node other than the caller wrote about the refusal, naming the status. */
function refusalNote(status: number): NoteEvent | undefined {
  return events.find(
    (e): e is NoteEvent => e.type === 'note' && e.node !== 'scenario' && e.node !== 'alice' && e.text.includes(`${status}`) && /INVITE|refused|answered/.test(e.text),
  );
}

interface TxnInternals {
  clients: Map<string, { state: string }>;
  servers: Map<string, { state: string }>;
}

const LIVE = new Set(['calling', 'trying', 'proceeding']);

/**
 * Issue 5, bad input: no call is left half-open in any node. UEs: no call, no dialog. Proxies: no response
 * context (RFC 3261 §16 state). Every node: no transaction still waiting for an answer — completed ones only
 * absorb retransmissions until their timers end (§17.1.1.2, §17.2.1), and a proxy's response context lasts
 * exactly as long as its server transaction.
 */
async function drained(): Promise<void> {
  await vi.waitFor(
    () => {
      const open: string[] = [];
      for (const [name, ue] of run.ues) {
        if (!(ue instanceof Ue)) continue;
        if (ue.calls.length > 0) open.push(`${name}: ${ue.calls.length} call(s)`);
        if ((ue.ua?.dialogCount ?? 0) > 0) open.push(`${name}: ${ue.ua!.dialogCount} dialog(s)`);
      }
      for (const [name, node] of run.nodes) {
        // A response context lives as long as its server transaction; one still waiting for a final answer is open.
        const proxy = (node as unknown as { proxy?: { contexts: Map<{ state: string; request: { method: string } }, unknown> } }).proxy;
        const waiting = [...(proxy?.contexts.keys() ?? [])].filter((t) => LIVE.has(t.state)).map((t) => t.request.method);
        if (waiting.length > 0) open.push(`${name}: proxy contexts waiting (${waiting.join(', ')})`);
      }
      for (const [name, container] of [...run.containers, ...[...run.ues.keys()].map((n) => [n, undefined] as const)]) {
        if (!container?.isBound(TOKENS.Transactions)) continue;
        const t = container.get<TransactionLayer>(TOKENS.Transactions) as unknown as TxnInternals;
        const live = [...t.clients.values(), ...t.servers.values()].filter((x) => LIVE.has(x.state)).map((x) => `${(x as unknown as { request: { method: string } }).request.method} ${x.state}`);
        if (live.length > 0) open.push(`${name}: live transactions (${live.join(', ')})`);
      }
      expect(open).toEqual([]);
    },
    { timeout: 10_000, interval: 50 },
  );
}

describe('failure cases as scenarios (issue 5 point 6)', () => {
  const cases: Array<[string, number]> = [
    ['callee-not-registered', 480],
    ['unknown-user', 404],
    ['busy', 486],
    ['no-answer', 487],
    ['unsupported-media', 488],
    ['too-many-hops', 483],
    ['originator-not-registered', 403],
  ];
  for (const [name, status] of cases) {
    it(`${name}: the call fails with ${status}, on the wire to the caller, with the reason on the trace`, async () => {
      await scenario(name);
      expect(finalsTo('alice', 'INVITE')).toEqual([status]);
      expect((run.ue('alice') as Ue).lastStatus).toBe(status);
      if (status === 483) {
        // RFC 3261 §16.3 step 3: the S-CSCF got Max-Forwards 0 from the P-CSCF; its reason phrase says why, and
        // the caller's trace line carries it (the proxy core writes no note of its own for §16.3 refusals).
        const r = received('alice').find((m) => !isRequest(m) && m.status === 483)!;
        expect((r as { reason: string }).reason).toBe('Too Many Hops');
        expect(events.some((e) => e.type === 'note' && e.node === 'alice' && e.text.includes('INVITE answered 483 Too Many Hops'))).toBe(true);
      } else {
        expect(refusalNote(status), `no node noted the ${status}`).toBeDefined();
      }
      if (status === 487) {
        // RFC 3261 §9.1: alice's CANCEL reached erin, who ended the INVITE.
        expect(received('erin').some((m) => isRequest(m) && m.method === 'CANCEL')).toBe(true);
        expect(finalsTo('alice', 'CANCEL')).toEqual([200]);
      }
      if (status === 488) {
        const r = received('alice').find((m) => !isRequest(m) && m.status === 488)!;
        expect(r.headers.get('Warning')).toMatch(/^305 .*"Incompatible media format"/);
      }
    }, 30_000);
  }

  it('spoofed-identity: alice claims carol in P-Preferred-Identity; bob is told alice (RFC 3325 §9.1)', async () => {
    await scenario('spoofed-identity');
    const invite = received('bob').find((m) => isRequest(m) && m.method === 'INVITE')!;
    expect(invite.headers.get('P-Asserted-Identity')).toBe('<sip:alice@ims.mnc001.mcc001.3gppnetwork.org>');
    expect(invite.headers.has('P-Preferred-Identity')).toBe(false);
    expect(events.some((e) => e.type === 'note' && e.node === 'pcscf1' && e.text.includes('sip:carol@') && e.text.includes('not asserted'))).toBe(true);
  }, 30_000);
});

describe('session features through the core', () => {
  it('preconditions: INVITE, 183, PRACK, 200, UPDATE, 200, 180, 200, ACK on the wire at the callee', async () => {
    await scenario('preconditions');
    /** Requests bob received and responses alice received, in order, 100 Trying and retransmissions folded. */
    const seen = (node: string, requests: boolean) => {
      const out: string[] = [];
      for (const m of received(node)) {
        if (isRequest(m) !== requests || (!isRequest(m) && m.status === 100)) continue;
        const line = isRequest(m) ? m.method : `${m.status} ${m.headers.get('CSeq')!.split(' ')[1]}`;
        if (!out.includes(line)) out.push(line);
      }
      return out;
    };
    expect(seen('bob', true).filter((m) => m !== 'NOTIFY')).toEqual(['INVITE', 'PRACK', 'UPDATE', 'ACK', 'BYE']);
    expect(seen('alice', false).filter((l) => /(INVITE|PRACK|UPDATE|BYE)$/.test(l))).toEqual(['183 INVITE', '200 PRACK', '200 UPDATE', '180 INVITE', '200 INVITE', '200 BYE']);
    // The 183 crossed the core with its reliability headers intact (RFC 3262 §3), Record-Route for the PRACK.
    const r183 = received('alice').find((m) => !isRequest(m) && m.status === 183)!;
    expect(r183.headers.get('Require')).toBe('100rel');
    expect(r183.headers.get('RSeq')).toMatch(/^\d+$/);
    expect(r183.headers.getAll('Record-Route').length).toBeGreaterThanOrEqual(2);
    const prack = received('bob').find((m) => isRequest(m) && m.method === 'PRACK')!;
    expect(prack.headers.get('RAck')).toBe(`${r183.headers.get('RSeq')} 1 INVITE`);
  }, 30_000);

  it('hold-resume-dtmf: sendonly re-INVITE answered recvonly, resumed, digits 123 received by bob', async () => {
    await scenario('hold-resume-dtmf');
    const reinvites = received('bob').filter((m) => isRequest(m) && m.method === 'INVITE').slice(1);
    expect(reinvites.map((m) => /a=(sendonly|recvonly|sendrecv|inactive)/.exec(m.body.toString())![1])).toEqual(['sendonly', 'sendrecv']);
    const answers = received('alice').filter((m) => !isRequest(m) && m.status === 200 && /^[23] INVITE$/.test(m.headers.get('CSeq')!));
    expect(answers.map((m) => /a=(sendonly|recvonly|sendrecv|inactive)/.exec(m.body.toString())![1])).toEqual(['recvonly', 'sendrecv']);
    expect((run.ue('bob') as Ue).dtmfReceived).toBe('123');
    // RFC 4733 end packets (E bit) reached bob: three per digit.
    const events4733 = events.filter(
      (e): e is PacketEvent => e.type === 'packet' && e.protocol === 'rtp' && e.node === 'bob' && e.direction === 'recv' && e.bytes.length === 16 && (e.bytes[13]! & 0x80) !== 0,
    );
    expect(events4733.length).toBeGreaterThanOrEqual(9);
  }, 30_000);
});
