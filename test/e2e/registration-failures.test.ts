import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/diameter/codec.js';
import type { DiameterMessage } from '../../src/diameter/message.js';
import { VENDOR_ID_3GPP } from '../../src/diameter/dictionary/cx.js';
import type { HssNode } from '../../src/hss/hss-node.js';
import { isRequest, type SipMessage } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import { runScenario, type ScenarioResult } from '../../src/topology/scenario.js';
import type { NoteEvent, PacketEvent, TraceEvent } from '../../src/trace/events.js';
import { tempDir } from '../reliability/helpers.js';

/**
 * Issue 4 with the real UE through the full core: topologies/failures.yaml's registration failures (SQN
 * resynchronisation, a wrong K, an unknown IMPI), moved from 127.0.94.x to 127.0.95.x so that it runs beside
 * test/e2e/failures.test.ts. Each asserts the statuses on the wire and the notes that explain them.
 */
const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const text = readFileSync(new URL('../../topologies/failures.yaml', import.meta.url), 'utf8').split('127.0.94.').join('127.0.95.');
const topology = parseTopology(text);
const dir = tempDir('imsregf-');
let run: RunningTopology;
let events: TraceEvent[] = [];

beforeAll(async () => {
  run = await startTopology(topology, { seed: 5, dataDir: dir.path });
  run.bus.events$.subscribe((e) => events.push(e));
});

afterAll(async () => {
  await run?.stop();
  dir.remove();
});

async function scenario(name: string): Promise<ScenarioResult> {
  events = [];
  const result = await runScenario(run, name, topology.scenarios[name]!);
  const failed = result.steps.find((s) => !s.ok);
  expect(failed ? `${failed.label}: ${failed.reason}` : undefined).toBeUndefined();
  return result;
}

/** REGISTER requests and their responses as the UE sent and received them, in wire order. */
function ueRegisterTraffic(ue: string): SipMessage[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.node === ue)
    .map((e) => parseMessage(e.bytes))
    .filter((m) => m.headers.get('CSeq')!.endsWith(' REGISTER'));
}

const summary = (msgs: SipMessage[]) => msgs.map((m) => (isRequest(m) ? m.method : m.status)).filter((x) => x !== 100);

/** Cx requests the S-CSCF sent, decoded (command code, and whether an AUTS rode in SIP-Auth-Data-Item). */
function cxFromScscf(): DiameterMessage[] {
  return events
    .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'diameter' && e.node === 'scscf1' && e.direction === 'send')
    .map((e) => decodeMessage(e.bytes))
    .filter((m) => m.isRequest);
}

const notes = (node: string) => events.filter((e): e is NoteEvent => e.type === 'note' && e.node === node);

describe('topologies/failures.yaml: registration failures with the simulated UE (issue 4)', () => {
  it('sqn-resync: the USIM ahead of the HSS answers with auts, the HSS resynchronises, the second 401 works → 200', async () => {
    await scenario('sqn-resync');
    const wire = ueRegisterTraffic('grace');
    // Initial REGISTER, 401; REGISTER with auts, 401 again (new vector); REGISTER with the RES, 200; then the
    // deregistration (RFC 3261 §10.2.2) with its own 200.
    expect(summary(wire).slice(0, 6)).toEqual(['REGISTER', 401, 'REGISTER', 401, 'REGISTER', 200]);
    const registers = wire.filter(isRequest);
    const auth = (i: number) => registers[i]!.headers.get('Authorization')!;
    expect(auth(0)).not.toMatch(/auts=/);
    // RFC 3310 §3.4: the resync request carries auts and an empty response.
    expect(auth(1)).toMatch(/auts="[A-Za-z0-9+/]{19}="/);
    expect(auth(1)).toMatch(/response=""/);
    expect(auth(2)).not.toMatch(/auts=/);
    expect(auth(2)).toMatch(/response="[0-9a-f]{32}"/);
    // The two challenges carry different nonces: the second vector comes after the resynchronisation.
    const nonces = wire.filter((m) => !isRequest(m) && (m as { status: number }).status === 401).map((m) => /nonce="([^"]+)"/.exec(m.headers.get('WWW-Authenticate')!)![1]);
    expect(new Set(nonces).size).toBe(2);

    // Cx: the first MAR, the resync MAR (TS 29.229 §6.3.13: SIP-Authorization holds RAND ‖ AUTS), SAR.
    const cx = cxFromScscf();
    const mars = cx.filter((m) => m.commandCode === 303);
    expect(mars).toHaveLength(2);
    // SIP-Auth-Data-Item (612) → SIP-Authorization (610): absent in the first, RAND ‖ AUTS (16 + 14 octets) in the second.
    const sipAuthorization = (m: DiameterMessage) => m.get(612, VENDOR_ID_3GPP)?.get(610, VENDOR_ID_3GPP)?.asBytes();
    expect(sipAuthorization(mars[0]!)).toBeUndefined();
    expect(sipAuthorization(mars[1]!)?.length).toBe(30);
    expect(cx.some((m) => m.commandCode === 301)).toBe(true);

    const resync = notes('hss1').find((n) => n.text.startsWith('MAR: AUTS says the UE is at SQN'));
    expect(resync?.text).toMatch(/^MAR: AUTS says the UE is at SQN 0x[0-9a-f]{12}; ours was 0x[0-9a-f]{12}; resynchronised$/);
    const [, ue, ours] = /SQN 0x([0-9a-f]{12}); ours was 0x([0-9a-f]{12})/.exec(resync!.text)!;
    expect(BigInt(`0x${ue}`)).toBeGreaterThan(BigInt(`0x${ours}`));
    expect(notes('grace').some((n) => /USIM: SQN out of range .*answering with AUTS/.test(n.text))).toBe(true);
    // The HSS's counter moved past the UE's: the next vector is fresh for the USIM (TS 33.102 §6.3.5).
    const stored = run.node<HssNode>('hss1').store.get(`grace@${DOMAIN}`)!;
    expect(stored.sqn).toBeGreaterThan(BigInt(`0x${ue}`));
  });

  it('wrong-key: the UE finds the MAC wrong, rejects the network and sends nothing more (TS 33.102 §6.3.3)', async () => {
    const before = run.node<HssNode>('hss1').store.getRegistration(`sip:heidi@${DOMAIN}`).state;
    await scenario('wrong-key');
    const wire = ueRegisterTraffic('heidi');
    expect(summary(wire)).toEqual(['REGISTER', 401]);
    expect(notes('heidi').some((n) => n.text === 'challenge not answered: network authentication failed (MAC)')).toBe(true);
    expect(notes('heidi').some((n) => n.text === 'registration failed: network authentication failed (MAC)')).toBe(true);
    expect(run.ue('heidi').state.state).toBe('failed');
    expect(run.node<HssNode>('hss1').store.getRegistration(`sip:heidi@${DOMAIN}`).state).toBe(before);
  });

  it('unknown-impi: the HSS knows no such user, the I-CSCF answers 403 and the UE is told so', async () => {
    expect(run.node<HssNode>('hss1').store.get(`ivan@${DOMAIN}`)).toBeUndefined();
    await scenario('unknown-impi');
    const wire = ueRegisterTraffic('ivan');
    expect(summary(wire)).toEqual(['REGISTER', 403]);
    // TS 29.229 §6.2.2.1: UAA with Experimental-Result DIAMETER_ERROR_USER_UNKNOWN (5001) from the HSS.
    const uaa = events
      .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'diameter' && e.node === 'icscf1' && e.direction === 'recv')
      .map((e) => decodeMessage(e.bytes))
      .find((m) => m.commandCode === 300 && !m.isRequest);
    expect(uaa).toBeDefined();
    expect(uaa!.get(297)?.get(298)?.asU32()).toBe(5001);
    expect(run.ue('ivan').state).toMatchObject({ state: 'failed' });
    expect(notes('ivan').some((n) => /^registration failed: 403 /.test(n.text))).toBe(true);
  });

  it('a register step that expected a failure fails when the UE registers, and names the status it wanted', async () => {
    const result = await runScenario(run, 'expect-403', [{ kind: 'register', ue: 'alice', expect: 403 }]);
    expect(result.ok).toBe(false);
    expect(result.steps[0]!.reason).toBe('alice registered, expected 403');
    await run.ue('alice').deregister();
    const wrong = await runScenario(run, 'expect-404', [{ kind: 'register', ue: 'ivan', expect: 404 }]);
    expect(wrong.steps[0]!.reason).toMatch(/^registration failed with "403 Forbidden.*", expected 404$/);
  });
});
