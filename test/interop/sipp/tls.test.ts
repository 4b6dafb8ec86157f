/**
 * SIPp over TLS against `imslab serve` (issue 6 point 2, `-t l1`'s place). Debian's sip-tester 3.6.1 is built
 * without OpenSSL, so SIPp cannot speak TLS itself; a TLS client relay in front of it does, as operators put
 * stunnel in front of TLS-less tools: SIPp runs its unchanged scenarios over TCP (`-t t1`) to socat, which
 * opens one TLS connection to the P-CSCF's 5061 per SIPp connection and checks the P-CSCF's certificate
 * against the trust anchor serve writes (RFC 3261 §26.3.1, RFC 5922 §7.1: its IP address in subjectAltName).
 *
 * Checked: (a) N AKA users register and deregister over TLS (SIPp's statistics, every AKA answer recomputed,
 * the HSS's database, the P-CSCF's registrations bound to TLS connections); (b) SIPp calls bob, a simulated UE;
 * (c) alice, a simulated UE, calls a SIPp UAS registered over TLS, and the INVITE comes back over the UE's own
 * TLS connection (RFC 5626 §5.3, TS 24.229 §5.2.6.4), never over a new TCP connection to SIPp's Contact;
 * (d) tshark: only TLS records (handshake and application data) on 5061, TLS 1.2 or 1.3 negotiated, no
 * cleartext SIP there, and SIPp's cleartext side of the relay well-formed; (e) the relay refuses a P-CSCF
 * whose certificate does not match, so the trust anchor is really checked.
 *
 * SIPp's Via says TCP while the P-CSCF receives over TLS: the P-CSCF judges by the connection (RFC 3261
 * §18.2.1 "transport" is where it arrived; §18.2.2 responses go back over that connection), and TS 24.229
 * §5.2.2 binds the registration to where the REGISTER came from (session-context.ts), never to the Via.
 *
 * The core runs on 127.0.57.1-4 with alice .10 and bob .11; SIPp .20 (registration), .21 (caller),
 * .22 (callee); the relay listens on .30:5060 and connects from .30.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeG711Pcap } from '../../../interop/sipp/make-g711-pcap.js';
import { formatUserFile, makeUsers, type SippUser } from '../../../interop/sipp/make-users.js';
import { ControlClient } from '../../../src/control/client.js';
import type { RegistrationsResult, UeCallResult } from '../../../src/control/commands.js';
import { controlSocketPath } from '../../../src/control/protocol.js';
import { SqliteSubscriberStore } from '../../../src/hss/sqlite-store.js';
import { CertificateAuthority } from '../../../src/tls/authority.js';
import { PeerProcess, skipReason } from '../helpers/peers.js';
import { auditAkaAnswers } from './aka-audit.js';
import {
  DOMAIN,
  SCENARIOS,
  countOf,
  describeRun,
  runSipp,
  startServe,
  stopProcess,
  writeServeTopology,
  tsharkFields,
  type Serve,
  type SippOptions,
  type SippRun,
} from './harness.js';

const NET = '127.0.57';
const P = `${NET}.1`;
const I = `${NET}.2`;
const S = `${NET}.3`;
const ALICE = `${NET}.10`;
const BOB = `${NET}.11`;
const SIPP_REG = `${NET}.20`;
const SIPP_UAC = `${NET}.21`;
const SIPP_UAS = `${NET}.22`;
const RELAY = `${NET}.30`;
const MEDIA_PORT = 6000;
const USERS = 50;
/** Where the capture's marker datagrams go, from and to itself (no ICMP, no other traffic there). */
const MARK = `${NET}.99`;
const MARK_PORT = 59_999;

const caller: SippUser = { impi: `tlsa@${DOMAIN}`, impu: `sip:tlsa@${DOMAIN}`, user: 'tlsa', k: 'Rk2vQa7NwEp5TcXd', op: 'tOp9Le3sKd6QwZ1u', amf: 'am' };
const callee: SippUser = { impi: `tlsc@${DOMAIN}`, impu: `sip:tlsc@${DOMAIN}`, user: 'tlsc', k: 'Hy4uMb8WrTs1LqPz', op: 'tOp9Le3sKd6QwZ1u', amf: 'am' };

let dir: string;
let serve: Serve | undefined;
let relay: PeerProcess | undefined;
let control: ControlClient | undefined;
let store: SqliteSubscriberStore | undefined;
let caPath: string;
let users: SippUser[];
const captures: Record<'register' | 'uac' | 'uas', string | undefined> = { register: undefined, uac: undefined, uas: undefined };
const report: string[] = [];

/**
 * The relay: SIPp's TCP in, TLS to the P-CSCF out, one TLS connection per SIPp connection (fork). verify=1 with
 * the CA serve wrote and commonname = the P-CSCF's address, matched against its iPAddress subjectAltName.
 */
function relayArgs(ca: string, peerName: string): string[] {
  return ['-d', '-d', `TCP-LISTEN:5060,bind=${RELAY},reuseaddr,fork`, `OPENSSL:${P}:5061,cafile=${ca},verify=1,commonname=${peerName},bind=${RELAY}`];
}

function why(r: SippRun): string {
  return `sipp ${r.args.join(' ')}\n${r.errors}\n${r.output.slice(-3000)}\nrelay:\n${relay?.output.slice(-2000)}\nserve:\n${serve?.output().slice(-2000)}`;
}

function expectClean(r: SippRun, calls: number): void {
  expect(r.code, why(r)).toBe(0);
  expect(Number(r.stats['SuccessfulCall(C)']), why(r)).toBe(calls);
  expect(Number(r.stats['FailedCall(C)']), why(r)).toBe(0);
  expect(serve!.child.exitCode, 'serve exited').toBeNull();
}

/** Every 403 SIPp got is one of its own cut AKA answers (docs/interop.md), every right answer was accepted. */
function expectAnswersExplained(r: SippRun, known: readonly SippUser[]): void {
  const audit = auditAkaAnswers(r.messageLog, known);
  expect(audit.unexplained).toEqual([]);
  expect(countOf(r, '_403_Recv')).toBe(audit.cutAtZero);
}

/** The shared runSipp with what calls need: SIPp's media address and port. */
function runSippCall(o: SippOptions, extra: string[]): Promise<SippRun> {
  return runSipp(o, ['-mi', o.local, '-mp', String(MEDIA_PORT), ...extra]);
}

/** The P-CSCF's registrations (TS 24.229 §5.2.2.1), as `imslab ctl registrations` reads them. */
async function pcscfRegistrations(): Promise<RegistrationsResult['pcscf'][string]> {
  const r = await control!.request<RegistrationsResult>('registrations');
  return r.pcscf['pcscf1'] ?? [];
}

/** Polls the P-CSCF until `impu` is registered; bounded. */
async function registeredAtPcscf(impu: string, timeoutMs: number): Promise<RegistrationsResult['pcscf'][string][number]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await pcscfRegistrations()).find((r) => r.impu === impu);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`${impu} not registered at the P-CSCF within ${timeoutMs} ms\nrelay:\n${relay?.output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * tshark on lo, written to `file` and each packet also printed (-P -l), bracketed by marker datagrams: it is
 * handed over only once a first marker has come through, and stopped only once a last marker after the run
 * has. tshark's "Capturing on" comes before packets are really being taken, and SIGINT drops what dumpcap
 * has not written yet: without the markers a TLS handshake at the start or a BYE at the end went missing.
 */
async function markedCapture<T>(file: string, work: () => Promise<T>): Promise<T> {
  const child = spawn('tshark', ['-i', 'lo', '-f', `net ${NET}.0/24`, '-a', 'duration:90', '-w', file, '-P', '-l'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // tshark -P prints one line per packet, "… MARK → MARK UDP … 59999 → 59999 Len=…" for a marker: counted as
  // whole lines arrive, so that the count never depends on how much output is kept.
  let text = '';
  let partial = '';
  let seenMarks = 0;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop()!;
    for (const l of lines) if (l.includes(`${MARK_PORT} → ${MARK_PORT}`)) seenMarks++;
    text = (text + d).slice(-20_000);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text = (text + d).slice(-20_000)));
  const socket = createSocket('udp4');
  /** Sends a marker every 50 ms until tshark has printed one more than before; bounded. */
  const mark = async (label: string) => {
    const before = seenMarks;
    const deadline = Date.now() + 15_000;
    while (seenMarks <= before) {
      if (child.exitCode !== null) throw new Error(`tshark exited (${child.exitCode}) before the ${label} marker:\n${text.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`the ${label} marker never showed in the capture:\n${text.slice(-2000)}`);
      socket.send(`imslab capture ${label}`, MARK_PORT, MARK);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(MARK_PORT, MARK, () => resolve());
    });
    await mark('start');
    const result = await work();
    await mark('end');
    return result;
  } finally {
    try {
      socket.close();
    } catch {
      // never bound
    }
    await stopProcess(child, 'SIGINT', 5_000);
  }
}

/** A throw-away socat client to the P-CSCF: its exit code and what it logged. */
function probeTls(options: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('socat', ['-d', '-d', '-', `OPENSSL:${P}:5061,${options}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, output });
    });
    child.stdin!.end();
  });
}

const skip = skipReason(['sipp', 'socat', 'tshark'], 'sip-tester socat tshark');

describe.skipIf(skip !== undefined)('SIPp over TLS (socat relay) against imslab serve', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-sipp-tls-'));
    users = makeUsers({ count: USERS, scheme: 'aka', prefix: 'tls' });
    writeFileSync(join(dir, 'users.csv'), formatUserFile(users, 'aka'));
    writeFileSync(join(dir, 'caller.csv'), formatUserFile([caller], 'aka'));
    writeFileSync(join(dir, 'callee.csv'), formatUserFile([callee], 'aka'));
    writeFileSync(join(dir, 'subscribers.csv'), formatUserFile([...users, caller, callee], 'aka'));
    writeFileSync(join(dir, 'g711-pcmu.pcap'), makeG711Pcap({ seconds: 2, codec: 'PCMU' }));
    // basic.yaml with its UEs (serve starts and registers them), moved onto NET.
    writeServeTopology(join(dir, 'topology.yaml'), NET, undefined, { keepUes: true, name: 'sipp-tls' });
    const data = join(dir, 'data');
    serve = await startServe(join(dir, 'topology.yaml'), ['--subscribers', join(dir, 'subscribers.csv'), '--data', data]);
    expect(serve.output()).toContain(`sips/TLS on ${P}:5061`);
    const anchor = /TLS trust anchor \(CA certificate for clients\): (\S+)/.exec(serve.output());
    expect(anchor, serve.output()).not.toBeNull();
    caPath = anchor![1]!;
    expect(existsSync(caPath)).toBe(true);

    relay = new PeerProcess('socat relay', 'socat', relayArgs(caPath, P));
    await relay.waitFor(new RegExp(`listening on AF=2 ${RELAY.replaceAll('.', '\\.')}:5060`), 10_000);
    control = await ControlClient.connect(controlSocketPath(data));
    store = new SqliteSubscriberStore(data);
  }, 60_000);

  afterAll(async () => {
    control?.close();
    store?.close();
    await relay?.stop();
    const stopped = await serve?.stop();
    if (report.length > 0) console.log(['SIPp over TLS against imslab serve:', ...report].join('\n  '));
    if (stopped) expect(stopped.killed, 'serve ignored SIGTERM').toBe(false);
    // IMSLAB_INTEROP_LOGS keeps the captures, SIPp's logs and serve's data for a look in Wireshark.
    if (process.env['IMSLAB_INTEROP_LOGS']) console.log(`SIPp over TLS: captures and logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it(`(a) ${USERS} IMS AKA users register over TLS, bound to their TLS connection at the P-CSCF, then deregister`, async () => {
    const registered = () => users.filter((u) => store!.getRegistration(u.impu).state === 'REGISTERED').length;
    expect(registered(), 'nobody is registered before the run').toBe(0);
    const file = join(dir, 'register.pcapng');
    const atPcscf = await markedCapture(file, async () => {
      const common = { users: join(dir, 'users.csv'), transport: 't1' as const, local: SIPP_REG, remote: `${RELAY}:5060`, calls: USERS, rate: 50, limit: USERS, dir, timeoutSec: 60 };
      const reg = await runSipp({ ...common, scenario: 'register-aka.xml', label: 'tls-register' });
      report.push(describeRun('register over TLS', reg));
      expectClean(reg, USERS);
      expectAnswersExplained(reg, users);
      // TS 29.228 §6.1.2: the S-CSCF's SAR stored every user REGISTERED, and no one else.
      expect(registered()).toBe(USERS);
      const bound = (await pcscfRegistrations()).filter((r) => users.some((u) => u.impu === r.impu));

      const dereg = await runSipp({ ...common, scenario: 'deregister-aka.xml', label: 'tls-deregister' });
      report.push(describeRun('deregister over TLS', dereg));
      expectClean(dereg, USERS);
      expectAnswersExplained(dereg, users);
      expect(registered()).toBe(0);
      return bound;
    });
    captures.register = file;
    // The P-CSCF bound each registration to the relay's TLS connection, the flow later requests toward the UE
    // take (TS 24.229 §5.2.6.4, RFC 5626 §5.3), although SIPp's Via and Contact say TCP: the connection the
    // REGISTER arrived on decides, not what the Via claims (RFC 3261 §18.2.1).
    expect(atPcscf.length).toBe(USERS);
    expect(atPcscf.every((r) => r.ue.startsWith(`tls:${RELAY}:`)), JSON.stringify(atPcscf.slice(0, 3))).toBe(true);
    expect(atPcscf.every((r) => r.contact.includes(`@${SIPP_REG}:5060;transport=TCP`))).toBe(true);
    expect(relay!.output).toMatch(/trusting certificate, commonName matches/);
    expect(relay!.output).toMatch(/SSL proto version used: TLSv1\.[23]/);
  }, 180_000);

  it('(b) SIPp registered over TLS calls bob, a simulated UE: 180, 200, ACK, RTP, BYE 200', async () => {
    const file = join(dir, 'uac.pcapng');
    const r = await markedCapture(file, () =>
      runSippCall(
        { scenario: 'call-uac-aka.xml', users: join(dir, 'caller.csv'), transport: 't1', local: SIPP_UAC, remote: `${RELAY}:5060`, calls: 1, rate: 1, limit: 1, dir, timeoutSec: 30, label: 'tls-uac' },
        ['-set', 'callee', 'bob'],
      ),
    );
    captures.uac = file;
    report.push(describeRun('SIPp → bob over TLS', r));
    expectClean(r, 1);
    expectAnswersExplained(r, [caller]);
    expect(countOf(r, '_180_Recv'), why(r)).toBe(1);
    expect(countOf(r, '_200_Recv'), why(r)).toBe(3); // REGISTER, INVITE, BYE

    // TS 24.229 §5.2.6.3.3: the P-CSCF took the INVITE from the TLS-registered UE and asserted its identity.
    const invites = await tsharkFields(file, 'sip.Method == "INVITE"', ['ip.src', 'ip.dst', 'sip.P-Asserted-Identity']);
    expect(invites.filter(([s, d]) => s === SIPP_UAC && d === RELAY)).toHaveLength(1);
    const towardS = invites.filter(([s, d]) => s === P && d === S);
    expect(towardS.length).toBeGreaterThanOrEqual(1);
    expect(towardS[0]![2]).toContain(caller.impu);
    expect(invites.some(([s, d]) => s === P && d === BOB)).toBe(true);
    // SIPp's RTP (the pcap it plays) reached bob's address.
    const rtp = await tsharkFields(file, `udp && ip.src == ${SIPP_UAC} && udp.srcport == ${MEDIA_PORT} && ip.dst == ${BOB}`, ['frame.number']);
    expect(rtp.length).toBeGreaterThanOrEqual(90);
    expect(rtp.length).toBeLessThanOrEqual(100);
  }, 90_000);

  it('(c) alice calls a SIPp UAS registered over TLS: the INVITE comes back over its TLS connection, not a new TCP one', async () => {
    const file = join(dir, 'uas.pcapng');
    const { r, call, binding } = await markedCapture(file, async () => {
      const sipp = runSippCall(
        { scenario: 'call-uas-register-aka.xml', users: join(dir, 'callee.csv'), transport: 't1', local: SIPP_UAS, remote: `${RELAY}:5060`, calls: 1, rate: 1, limit: 1, dir, timeoutSec: 40, label: 'tls-uas' },
        ['-oocsf', join(SCENARIOS, 'call-uas.xml'), '-s', callee.user, '-rtp_echo'],
      );
      try {
        const binding = await registeredAtPcscf(callee.impu, 20_000);
        const call = await control!.request<UeCallResult>('ue.call', { from: 'alice', to: callee.impu, durationMs: 2000 }, 60_000);
        return { r: await sipp, call, binding };
      } finally {
        // SIPp ends by itself (its -timeout bounds it); never leave it running behind a failed step.
        await sipp;
      }
    });
    captures.uas = file;
    report.push(describeRun('alice → SIPp over TLS', r));
    expect(binding.ue).toMatch(new RegExp(`^tls:${RELAY.replaceAll('.', '\\.')}:\\d+$`));
    expect(call, JSON.stringify(call)).toMatchObject({ answered: true, status: 200 });
    expect(call.ended).toMatch(/BYE answered 200/);
    expectClean(r, 1);
    expectAnswersExplained(r, [callee]);
    // SIPp echoed alice's RTP (-rtp_echo) from the media address its answer gave.
    expect(call.rtp!.sent).toBeGreaterThanOrEqual(90);
    expect(call.rtp!.received).toBeGreaterThanOrEqual(call.rtp!.sent - 2);
    expect(call.rtp!.lost).toBe(0);
    report.push(`alice → SIPp: RTP sent ${call.rtp!.sent}, echoed back ${call.rtp!.received}, lost ${call.rtp!.lost}`);

    // RFC 5626 §5.3 / TS 24.229 §5.2.6.4: INVITE, ACK and BYE reached SIPp through the relay (its TLS connection)…
    const toSipp = await tsharkFields(file, `sip.Method && ip.dst == ${SIPP_UAS}`, ['ip.src', 'tcp.srcport', 'sip.Method']);
    expect(toSipp.filter(([, , m]) => m === 'INVITE').map(([s, port]) => `${s}:${port}`)).toEqual([`${RELAY}:5060`]);
    expect(toSipp.map(([, , m]) => m)).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'BYE']));
    expect(toSipp.every(([s]) => s === RELAY), JSON.stringify(toSipp)).toBe(true);
    // …and the P-CSCF never opened a connection of its own to the TCP Contact SIPp registered.
    const syns = await tsharkFields(file, `tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == ${P}`, ['ip.dst', 'tcp.dstport']);
    expect(syns.filter(([d]) => d === SIPP_UAS)).toEqual([]);
  }, 90_000);

  it('(d) tshark: only TLS 1.2/1.3 records on 5061 (handshake and application data), no cleartext SIP there; the relay side is well-formed SIP', async () => {
    for (const [name, file] of Object.entries(captures)) {
      expect(file, `the capture of ${name} is missing (its test failed)`).toBeDefined();
      const bad = await tsharkFields(file!, '_ws.malformed || _ws.expert.severity == error', ['frame.number', 'ip.src', 'ip.dst', '_ws.col.Info']);
      expect(bad, `${name}: malformed or erroneous packets`).toEqual([]);

      const hellos = await tsharkFields(file!, 'tcp.port == 5061 && tls.handshake.type == 2', ['tls.handshake.extensions.supported_version', 'tls.handshake.version']);
      expect(hellos.length, `${name}: ServerHellos`).toBeGreaterThanOrEqual(1);
      // RFC 8446 §4.2.1: TLS 1.3 shows in supported_versions (0x0304); TLS 1.2 in the legacy version (0x0303).
      for (const [supported, legacy] of hellos) expect(supported === '0x0304' || (supported === '' && legacy === '0x0303'), `${name}: ${supported} ${legacy}`).toBe(true);
      const clientHellos = await tsharkFields(file!, `tcp.port == 5061 && tls.handshake.type == 1 && ip.src == ${RELAY}`, ['frame.number']);
      expect(clientHellos.length).toBe(hellos.length);
      const appData = await tsharkFields(file!, `tcp.dstport == 5061 && tls.app_data && ip.src == ${RELAY}`, ['frame.number']);
      expect(appData.length, `${name}: application data from the relay`).toBeGreaterThanOrEqual(hellos.length);
      expect(await tsharkFields(file!, 'tcp.port == 5061 && sip', ['frame.number']), `${name}: cleartext SIP on 5061`).toEqual([]);
      // A segment TCP sent twice (loopback under load saw a spurious retransmission) is shown as TCP, not redissected.
      const resent = 'tcp.analysis.retransmission || tcp.analysis.fast_retransmission || tcp.analysis.spurious_retransmission';
      expect(await tsharkFields(file!, `tcp.port == 5061 && tcp.len > 0 && !tls && !(${resent})`, ['frame.number']), `${name}: non-TLS payload on 5061`).toEqual([]);

      // The relay's cleartext side: SIPp's own messages, dissected as SIP.
      const clear = await tsharkFields(file!, `tcp.port == 5060 && ip.addr == ${RELAY} && sip`, ['ip.src', 'sip.Method', 'sip.Status-Code']);
      expect(clear.length, `${name}: SIP between SIPp and the relay`).toBeGreaterThanOrEqual(4);
      report.push(`${name} capture: ${hellos.length} TLS handshake(s), ${appData.length} application-data records to 5061, ${clear.length} SIP messages on SIPp's side, nothing malformed`);
    }
  }, 120_000);

  it('(e) the relay checks the P-CSCF against the trust anchor: a wrong name or an unrelated CA is refused', async () => {
    const good = await probeTls(`cafile=${caPath},verify=1,commonname=${P}`);
    expect(good.output).toMatch(/trusting certificate, commonName matches/);
    const wrongName = await probeTls(`cafile=${caPath},verify=1,commonname=pcscf.invalid`);
    expect(wrongName.code).not.toBe(0);
    expect(wrongName.output).toMatch(/commonName does not match/);
    const other = await CertificateAuthority.open(join(dir, 'other-ca'), { commonName: 'not the topology CA' });
    const wrongCa = await probeTls(`cafile=${other.caPath},verify=1,commonname=${P}`);
    expect(wrongCa.code).not.toBe(0);
    expect(wrongCa.output).toMatch(/certificate verify failed/);
  }, 30_000);
});
