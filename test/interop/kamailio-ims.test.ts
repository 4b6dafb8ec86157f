import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process'; // tshark only: the HSS is idle while it reads the pcap
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CxClient, CxCommandCode, ExperimentalResultCode as X } from '../../src/diameter/cx/index.js';
import { DiameterNode } from '../../src/diameter/node.js';
import { ResultCode } from '../../src/diameter/result-codes.js';
import { importSubscriberCsv } from '../../src/hss/csv.js';
import { HssNode } from '../../src/hss/hss-node.js';
import { TraceBus, type TraceEvent } from '../../src/trace/events.js';
import { eventsToPcap } from '../../src/trace/pcap.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';
import { collectDiameter, INTEROP_DIR, PeerProcess, renderTree, skipReason, waitUntil, type DiameterSeen } from './helpers/peers.js';

/**
 * Kamailio 5.6's own I-CSCF and S-CSCF (Debian `kamailio` + `kamailio-ims-modules` + `kamailio-presence-modules`,
 * their `cdp` Diameter stack) register a SIPp IMS AKA user through the imslab HSS, as they would with any HSS
 * in the field: UAR at the I-CSCF, MAR and SAR at the S-CSCF. Then tshark reads the Cx exchange (and one LIR)
 * from a pcap of our trace and must name every AVP and find nothing malformed.
 */
const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';
const HSS = '127.0.46.11';
const ICSCF = '127.0.46.12';
const SCSCF = '127.0.46.13';
const UE = '127.0.46.14';
const LIR_CLIENT = '127.0.46.15';
const SCSCF_URI = `sip:${SCSCF}:6060`;
const IMPU = `sip:alice@${DOMAIN}`;
const USERS = join(INTEROP_DIR, 'kamailio/sipp/users.csv');

const skip = skipReason(['kamailio', 'sipp', 'tshark'], 'kamailio kamailio-ims-modules kamailio-presence-modules sip-tester tshark');

describe.skipIf(skip !== undefined)('Kamailio I-CSCF + S-CSCF ↔ imslab HSS', () => {
  let dir: string;
  let hss: HssNode;
  let seen: DiameterSeen[];
  let events: TraceEvent[];
  const peers: PeerProcess[] = [];
  let icscf: PeerProcess;
  let scscf: PeerProcess;
  let trace: TraceBus;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-kamailio-'));
    const clock = new SystemClock();
    trace = new TraceBus(clock);
    ({ seen, events } = collectDiameter(trace));
    hss = new HssNode({
      spec: { name: 'hss1', kind: 'hss', address: HSS, ports: { diameter: 3868 }, domain: DOMAIN, settings: { realm: DOMAIN } },
      clock, random: new SeededRandom(11).fork('hss1'), trace, dataDir: dir,
    });
    // The SIPp injection file is the HSS's provisioning file too (K/OP/AMF as SIPp's ASCII keys).
    importSubscriberCsv(hss.store, readFileSync(USERS, 'utf8'), USERS);
    hss.store.putScscf({ serverName: SCSCF_URI, capabilities: [] });
    await hss.start();

    const common = {
      DOMAIN, HSS_PEER: HSS, HSS_PORT: '3868', ICSCF_ADDRESS: ICSCF, ICSCF_PORT: '5060',
      SCSCF_ADDRESS: SCSCF, SCSCF_PORT: '6060', SCSCF_URI,
    };
    for (const [role, port] of [['icscf', '3869'], ['scscf', '3870']] as const) {
      const run = join(dir, role);
      renderTree(`kamailio/${role}`, run, { ...common, NODE: role, NODE_FQDN: `${role}.${DOMAIN}`, DIAMETER_PORT: port });
      if (process.env.IMSLAB_INTEROP_LOGS) {
        const cfg = join(run, 'kamailio.cfg');
        writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/^debug=2$/m, 'debug=3'));
      }
      peers.push(new PeerProcess(role, 'kamailio', ['-DD', '-E', '-f', join(run, 'kamailio.cfg'), '-Y', run, '-P', join(run, 'kamailio.pid')], { cwd: run }));
    }
    [icscf, scscf] = peers as [PeerProcess, PeerProcess];
    // Both cdp stacks must have completed CER/CEA with the HSS before SIP arrives.
    await waitUntil(
      () => [ICSCF, SCSCF].every((a) => seen.some((s) => s.remote === a && s.commandCode === 257 && s.resultCode === ResultCode.DIAMETER_SUCCESS)) || undefined,
      15_000,
      () => `cdp peers did not connect; Diameter seen: ${JSON.stringify(seen.map(({ bytes: _b, ...s }) => s))}\nI-CSCF:\n${icscf.output.slice(-2000)}\nS-CSCF:\n${scscf.output.slice(-2000)}`,
    );
  }, 40_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    if (process.env.IMSLAB_INTEROP_LOGS) {
      for (const p of peers) writeFileSync(join(process.env.IMSLAB_INTEROP_LOGS, `${p.name}.log`), p.output);
      writeFileSync(join(process.env.IMSLAB_INTEROP_LOGS, 'hss.log'), events.map((e) => (e.type === 'note' ? e.text : `${e.direction} ${e.remote.address} ${e.bytes.length}`)).join('\n'));
    }
    await hss?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cx = (direction: 'send' | 'recv', request: boolean, commandCode: number, remote: string) =>
    seen.filter((s) => s.direction === direction && s.request === request && s.commandCode === commandCode && s.remote === remote);

  /** SIPp runs as a child process while this process's event loop keeps serving Diameter (no spawnSync here). */
  async function registerWithSipp(run: string): Promise<{ status: number | null; output: string }> {
    const errors = join(dir, `sipp-${run}.err`);
    const sipp = new PeerProcess(`sipp-${run}`, 'sipp', [
      '-sf', join(INTEROP_DIR, 'kamailio/sipp/register-aka-icscf.xml'), '-inf', USERS, '-key', 'domain', DOMAIN,
      '-i', UE, '-p', '5060', '-m', '1', '-nostdin', '-timeout', '15', '-timeout_error', '-trace_err', '-error_file', errors,
      `${ICSCF}:5060`,
    ]);
    peers.push(sipp);
    const status = await sipp.exitCode(25_000);
    let err = '';
    try {
      err = readFileSync(errors, 'utf8');
    } catch {
      // SIPp wrote no errors
    }
    return { status, output: `${sipp.output.slice(-1500)}\n${err}\nI-CSCF:\n${icscf.output.slice(-1500)}\nS-CSCF:\n${scscf.output.slice(-1500)}` };
  }

  it('registers a SIPp IMS AKA user: 401 then 200, via UAR (2001), MAR, SAR; the HSS stores it REGISTERED at Kamailio', async () => {
    const sipp = await registerWithSipp('first');
    expect(sipp.status, sipp.output).toBe(0);

    const uaa = cx('send', false, CxCommandCode.UserAuthorization, ICSCF);
    expect(uaa.map((a) => a.resultCode)).toEqual([X.DIAMETER_FIRST_REGISTRATION]);
    const maa = cx('send', false, CxCommandCode.MultimediaAuth, SCSCF);
    expect(maa.map((a) => a.resultCode)).toEqual([ResultCode.DIAMETER_SUCCESS]);
    const saa = cx('send', false, CxCommandCode.ServerAssignment, SCSCF);
    expect(saa.map((a) => a.resultCode)).toEqual([ResultCode.DIAMETER_SUCCESS]);

    const reg = hss.store.getRegistration(IMPU);
    expect(reg.state).toBe('REGISTERED');
    expect(reg.serverName).toBe(SCSCF_URI);
    expect(reg.scscfHost).toBe(`scscf.${DOMAIN}`);
    expect(icscf.running && scscf.running).toBe(true);
  }, 40_000);

  it('re-registers: the I-CSCF\'s UAR is answered 2002 with Kamailio\'s Server-Name', async () => {
    const sipp = await registerWithSipp('again');
    expect(sipp.status, sipp.output).toBe(0);
    const uaa = cx('send', false, CxCommandCode.UserAuthorization, ICSCF);
    expect(uaa.map((a) => a.resultCode)).toEqual([X.DIAMETER_FIRST_REGISTRATION, X.DIAMETER_SUBSEQUENT_REGISTRATION]);
    expect(cx('recv', true, CxCommandCode.ServerAssignment, SCSCF)).toHaveLength(2);
    expect(hss.store.getRegistration(IMPU).state).toBe('REGISTERED');
  }, 40_000);

  it('tshark decodes the UAR/MAR/SAR/LIR exchange with every Cx AVP named and nothing malformed', async () => {
    // An LIR as an I-CSCF sends for a terminating request (TS 29.228 §6.1.4), from our own Cx client.
    const clock = new SystemClock();
    const node = new DiameterNode({ name: 'icscf2', originHost: `icscf2.${DOMAIN}`, originRealm: DOMAIN, address: LIR_CLIENT, port: 0, clock, random: new SeededRandom(3), trace });
    try {
      const lia = await new CxClient(node, await node.connect(HSS, 3868)).lir({ publicIdentity: IMPU });
      expect(lia.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
      expect(lia.serverName).toBe(SCSCF_URI);
    } finally {
      await node.close();
    }

    const pcap = join(dir, 'cx.pcap');
    writeFileSync(pcap, eventsToPcap(events, { knownAddresses: [HSS, LIR_CLIENT] }));
    const tshark = (...args: string[]) => {
      const r = spawnSync('tshark', ['-r', pcap, ...args], { encoding: 'utf8', timeout: 30_000 });
      // A wrong option makes tshark print to stderr and exit quietly; its root warning is the only line allowed.
      const complaints = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Running as user'));
      expect(complaints, `tshark ${args.join(' ')}`).toEqual([]);
      expect(r.status, `tshark ${args.join(' ')}`).toBe(0);
      return r.stdout;
    };
    const rows = tshark('-Y', 'diameter', '-T', 'fields', '-e', 'diameter.cmd.code', '-e', 'diameter.flags.request', '-e', 'diameter.applicationId')
      .trim().split('\n').map((l) => l.split('\t'));
    const cxCommands = new Set(rows.filter(([, , app]) => app === '16777216').map(([code, req]) => `${code}/${req === '1' || req === 'True' ? 'R' : 'A'}`));
    for (const c of [300, 301, 302, 303]) {
      expect(cxCommands, `command ${c}`).toContain(`${c}/R`);
      expect(cxCommands, `command ${c}`).toContain(`${c}/A`);
    }
    expect(tshark('-Y', '_ws.malformed || _ws.expert.severity == error').trim()).toBe('');
    const verbose = tshark('-Y', 'diameter', '-V');
    expect(verbose).toMatch(/Experimental-Result-Code: DIAMETER_FIRST_REGISTRATION \(2001\)/);
    expect(verbose).toMatch(/SIP-Auth-Data-Item/);
    expect(verbose).toMatch(/User-Data/);
    // Kamailio's ims_icscf adds a private AVP (code 494, Vendor-Id 50, no M bit) holding the SIP Call-ID to its
    // UARs; it is not Cx and Wireshark has no name for it. Every other AVP, ours included, must be named.
    const unnamed = verbose.split('\n').filter((l) => /^\s*AVP: Unknown\(/.test(l));
    expect(unnamed.filter((l) => !/^\s*AVP: Unknown\(494\) l=\d+ f=V-- vnd=50 /.test(l))).toEqual([]);
    expect(unnamed.length).toBeLessThanOrEqual(cx('recv', true, CxCommandCode.UserAuthorization, ICSCF).length);
  }, 40_000);
});
