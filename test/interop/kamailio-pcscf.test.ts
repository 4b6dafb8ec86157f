/**
 * Another vendor's P-CSCF in front of imslab's I-CSCF and S-CSCF (issue 6 point 4): Kamailio 5.6 with
 * ims_usrloc_pcscf and ims_registrar_pcscf (interop/kamailio/pcscf, no IPsec, no Rx) forwards a SIPp UE's
 * REGISTER to our I-CSCF; our S-CSCF challenges with IMS AKA (our HSS's MAR), SIPp answers, our S-CSCF
 * registers it with Kamailio on the Path. Then SIPp's MESSAGE goes Kamailio → our S-CSCF (Service-Route) →
 * I-CSCF (LIR) → S-CSCF → our P-CSCF → bob, a simulated UE, who answers 200.
 *
 * The core (basic.yaml with its UEs) runs in this process on 127.0.55.101-104, alice .130, bob .131; Kamailio
 * on 127.0.55.110, SIPp on .120. Needs kamailio (+ kamailio-ims-modules) and sipp; skips, saying so, without.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatUserFile, type SippUser } from '../../interop/sipp/make-users.js';
import { SqliteSubscriberStore } from '../../src/hss/sqlite-store.js';
import { isRequest } from '../../src/sip/message.js';
import { parseMessage } from '../../src/sip/parser.js';
import { loadTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import type { PacketEvent, TraceEvent } from '../../src/trace/events.js';
import { Ue } from '../../src/ue/ue.js';
import { INTEROP_DIR, PeerProcess, renderTree, skipReason } from './helpers/peers.js';

const NET = '127.0.55';
const P = `${NET}.101`;
const I = `${NET}.102`;
const S = `${NET}.103`;
const HSS = `${NET}.104`;
const BOB = `${NET}.131`;
const KAMAILIO = `${NET}.110`;
const SIPP = `${NET}.120`;
const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const ROOT = join(INTEROP_DIR, '..');

/** SIPp's user: 16-character K and OP, 2-character AMF, as SIPp takes them (docs/interop.md). */
const user: SippUser = { impi: `kam1@${DOMAIN}`, impu: `sip:kam1@${DOMAIN}`, user: 'kam1', k: 'Rf7kLq2ZxW9mTb4N', op: 'mOp4Xe7sJd1QaZ9u', amf: 'am' };

const skip = skipReason(['kamailio', 'sipp'], 'kamailio kamailio-ims-modules sip-tester');

describe.skipIf(skip !== undefined)("Kamailio's P-CSCF (ims_pcscf) in front of imslab's I-CSCF/S-CSCF", () => {
  let dir: string;
  let run: RunningTopology | undefined;
  let kamailio: PeerProcess | undefined;
  const peers: PeerProcess[] = [];
  const events: TraceEvent[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-kamailio-pcscf-'));
    writeFileSync(join(dir, 'users.csv'), formatUserFile([user], 'aka'));
    const topo = parse(readFileSync(join(ROOT, 'topologies/basic.yaml'), 'utf8')) as Record<string, unknown> & {
      nodes: Array<{ kind: string; address: string }>;
      ues: Array<{ name: string; address: string }>;
    };
    const host: Record<string, string> = { pcscf: P, icscf: I, scscf: S, hss: HSS };
    for (const n of topo.nodes) n.address = host[n.kind]!;
    // Kamailio is a P-CSCF of our trust domain (TS 33.210): the I-CSCF and S-CSCF believe what it asserts
    // (P-Asserted-Identity, integrity-protected), as they believe the topology's own P-CSCF.
    for (const n of topo.nodes) if (n.kind === 'icscf' || n.kind === 'scscf') (n as { trustedPeers?: string[] }).trustedPeers = [KAMAILIO];
    for (const u of topo.ues) u.address = u.name === 'alice' ? `${NET}.130` : BOB;
    delete topo.scenarios;
    delete topo.defaultScenario;
    topo.name = 'kamailio-pcscf';
    topo.subscribersCsv = join(dir, 'users.csv');
    writeFileSync(join(dir, 'topology.yaml'), stringify(topo));
    run = await startTopology(loadTopology(join(dir, 'topology.yaml')), { dataDir: join(dir, 'data') });
    run.bus.events$.subscribe((e) => events.push(e));
    await run.ue('bob').register();

    const cfg = join(dir, 'pcscf');
    renderTree('kamailio/pcscf', cfg, {
      NODE: 'pcscf', PCSCF_ADDRESS: KAMAILIO, PCSCF_PORT: '5060', ICSCF_ADDRESS: I, ICSCF_PORT: '5060', DOMAIN,
      VISITED_NETWORK: DOMAIN, IPSEC_CLIENT_PORT: '5100', IPSEC_SERVER_PORT: '5101',
    });
    if (process.env.IMSLAB_INTEROP_LOGS) writeFileSync(join(cfg, 'kamailio.cfg'), readFileSync(join(cfg, 'kamailio.cfg'), 'utf8').replace(/^debug=2$/m, 'debug=3'));
    kamailio = new PeerProcess('kamailio-pcscf', 'kamailio', ['-DD', '-E', '-f', join(cfg, 'kamailio.cfg'), '-Y', cfg, '-P', join(cfg, 'kamailio.pid')], { cwd: cfg });
    peers.push(kamailio);
    await kamailio.waitFor(/P-CSCF ready on/, 15_000);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    if (process.env.IMSLAB_INTEROP_LOGS && kamailio) writeFileSync(join(process.env.IMSLAB_INTEROP_LOGS, 'kamailio-pcscf.log'), kamailio.output);
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** SIPp as a child process while this process's event loop serves the core (no spawnSync here). */
  async function sipp(scenario: string, label: string, extra: string[] = []): Promise<{ code: number | null; why: string }> {
    const errors = join(dir, `${label}.errors.log`);
    const p = new PeerProcess(`sipp-${label}`, 'sipp', [
      `${KAMAILIO}:5060`, '-sf', join(INTEROP_DIR, 'sipp', scenario), '-inf', join(dir, 'users.csv'),
      '-key', 'domain', DOMAIN, '-auth_uri', DOMAIN, ...extra, '-t', 'u1', '-i', SIPP, '-p', '5060',
      '-m', '1', '-nostdin', '-timeout', '20s', '-timeout_error', '-trace_err', '-error_file', errors,
    ], { cwd: dir });
    peers.push(p);
    const code = await p.exitCode(35_000);
    let err = '';
    try {
      err = readFileSync(errors, 'utf8').slice(0, 4000);
    } catch {
      // SIPp wrote no errors
    }
    return { code, why: `${p.output.slice(-1500)}\n${err}\nKamailio:\n${kamailio!.output.slice(-3000)}` };
  }

  const sipFrom = (remote: string, at: string) =>
    events
      .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.direction === 'recv' && e.remote.address === remote && e.local.address === at)
      .map((e) => parseMessage(e.bytes));

  it('SIPp registers with IMS AKA through Kamailio: our I-CSCF and S-CSCF take the REGISTER with its Path, 401 then 200, HSS REGISTERED', async () => {
    const r = await sipp('register-aka.xml', 'register');
    expect(r.code, r.why).toBe(0);
    // What Kamailio sent our I-CSCF: both REGISTERs, with Kamailio on the Path (RFC 3327) and its network's name.
    const registers = sipFrom(KAMAILIO, I).filter((m) => isRequest(m) && m.method === 'REGISTER');
    expect(registers.length).toBeGreaterThanOrEqual(2);
    for (const m of registers) {
      expect(m.headers.get('Path')).toBe(`<sip:term@${KAMAILIO}:5060;lr>`);
      expect(m.headers.get('P-Visited-Network-ID')).toBe(`"${DOMAIN}"`);
    }
    expect(registers.at(-1)!.headers.get('Authorization')).toMatch(/algorithm=AKAv1-MD5/i);
    // What our I-CSCF answered Kamailio: the 401 with the AKA challenge, then the 200 with our Service-Route.
    const answers = events
      .filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'sip' && e.direction === 'send' && e.local.address === I && e.remote.address === KAMAILIO)
      .map((e) => parseMessage(e.bytes))
      .filter((m) => !isRequest(m) && m.headers.get('CSeq')!.endsWith('REGISTER'));
    expect(answers.map((m) => (m as { status: number }).status)).toEqual(expect.arrayContaining([401, 200]));
    const ok = answers.find((m) => (m as { status: number }).status === 200)!;
    expect(ok.headers.get('Service-Route')).toContain(S);
    expect(ok.headers.get('Path')).toBe(`<sip:term@${KAMAILIO}:5060;lr>`);
    expect(ok.headers.get('P-Associated-URI')).toContain(user.impu);

    const store = new SqliteSubscriberStore(join(dir, 'data'));
    try {
      const reg = store.getRegistration(user.impu);
      expect(reg.state).toBe('REGISTERED');
      expect(reg.serverName).toContain(S);
    } finally {
      store.close();
    }
    expect(kamailio!.running, 'Kamailio exited').toBe(true);
  }, 60_000);

  it('SIPp sends a MESSAGE through Kamailio: asserted by Kamailio, routed by our S-CSCF (LIR at the I-CSCF) to bob, 200 back', async () => {
    const r = await sipp('message-aka.xml', 'message', ['-set', 'callee', 'bob']);
    expect(r.code, r.why).toBe(0);
    const bob = run!.ue('bob');
    if (!(bob instanceof Ue)) throw new Error('bob is not a simulated UE');
    const got = bob.messagesReceived.at(-1);
    expect(got?.text).toMatch(/^Hello from kam1 via SIPp/);
    // Kamailio's P-CSCF asserted the identity (RFC 3325 §9.1, TS 24.229 §5.2.6.3) and used the Service-Route.
    const fromKamailio = sipFrom(KAMAILIO, S).filter((m) => isRequest(m) && m.method === 'MESSAGE');
    expect(fromKamailio, 'Kamailio did not send the MESSAGE to our S-CSCF').toHaveLength(1);
    expect(fromKamailio[0]!.headers.get('P-Asserted-Identity')).toBe(`<${user.impu}>`);
    // The terminating half: our I-CSCF asked the HSS (LIR 302) and our P-CSCF delivered it to bob.
    const lir = events.filter((e): e is PacketEvent => e.type === 'packet' && e.protocol === 'diameter' && e.direction === 'send' && e.local.address === I);
    expect(lir.some((e) => e.bytes.readUIntBE(5, 3) === 302 && (e.bytes[4]! & 0x80) !== 0)).toBe(true);
    expect(sipFrom(P, BOB).some((m) => isRequest(m) && m.method === 'MESSAGE')).toBe(true);
  }, 60_000);
});
