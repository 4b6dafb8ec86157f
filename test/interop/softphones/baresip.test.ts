/**
 * baresip 1.0 (Debian baresip) against `imslab serve` over UDP, TCP and TLS (issue 6 point 1, issue 5 point 8):
 * it registers with SIP digest (the core's registrations show its contact), dials a simulated UE that
 * answers and echoes, and is called by that UE through `imslab ctl call`; each call lasts about 3 s and is
 * captured with tshark, which must find one RTP stream each way with packets and no loss, and no malformed
 * packet. Calling the UE configured busy gets 486. Afterwards the conformance report of the run names
 * baresip's missing `Supported: path` (TS 24.229 §5.1.1.2.1).
 *
 * The core runs on 127.0.54.1-4, the simulated UEs on .10 and .11 (the capture takes 127.0.54.0/28).
 * baresip sits on 127.0.0.1 (SIP 25060/25061 TLS, ctrl_tcp 25070, RTP 61400-61499): it binds RTP to 0.0.0.0,
 * so its media leaves from 127.0.0.1 whatever address it is told (interop/baresip/config).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportJson } from '../../../src/report/model.js';
import { renderBaresip } from '../../../interop/baresip/render.js';
import { startServe, type Serve } from '../sipp/harness.js';
import { skipReason } from '../helpers/peers.js';
import { badPackets, Baresip, startCapture, tlsRecords, callFrom, deregistered, DOMAIN, registeredAt, rtpStreams, sipFlow, ues, writeSoftphoneTopology, type RtpStream } from './harness.js';

const NET = '127.0.54';
const PCSCF = `${NET}.1`;
const CAPTURE = `net ${NET}.0/28`;
/** Inside the capture filter, nobody there: tshark's start probe. */
const PROBE = `${NET}.15`;
const PHONE = '127.0.0.1';
const CAROL = `sip:carol@${DOMAIN}`;
const DAVE = `sip:dave@${DOMAIN}`;
const ERIN = `sip:erin@${DOMAIN}`;
const CALL_SECONDS = 3;
const CTRL = { address: PHONE, port: 25070 };

let dir: string;
let data: string;
let serve: Serve | undefined;
let caFile: string;
let dave: string;
const figures: string[] = [];

const skip = skipReason(['baresip', 'tshark'], 'baresip tshark');

/** One stream each way between the phone and the simulated UE, with about 50 packets/s for the call, none lost. */
function expectMediaBothWays(streams: RtpStream[], label: string): void {
  const why = `${label}: ${JSON.stringify(streams)}`;
  expect(streams.length, why).toBe(2);
  const up = streams.find((s) => s.src === PHONE && s.dst === dave);
  const down = streams.find((s) => s.src === dave && s.dst === PHONE);
  expect(up, why).toBeDefined();
  expect(down, why).toBeDefined();
  for (const s of [up!, down!]) {
    expect(s.packets, why).toBeGreaterThanOrEqual(CALL_SECONDS * 50 * 0.8);
    expect(s.lost, why).toBe(0);
    expect(s.payload, why).toMatch(/g711/i);
  }
  figures.push(`${label}: RTP phone→UE ${up!.packets} packets, UE→phone ${down!.packets} packets, lost ${up!.lost}/${down!.lost}`);
}

/** baresip dials dave, who answers and echoes; the call is held CALL_SECONDS, then baresip hangs up. */
async function baresipCallsDave(phone: Baresip, label: string): Promise<void> {
  const pcap = join(dir, `${label}-out.pcap`);
  const capture = await startCapture(pcap, CAPTURE, 40, PROBE);
  try {
    const from = phone.events.length;
    const dial = await phone.command('dial', DAVE);
    expect(dial.ok, `dial: ${dial.data}`).toBe(true);
    await phone.event('CALL_ESTABLISHED', 15_000, from);
    await new Promise((r) => setTimeout(r, CALL_SECONDS * 1000));
    await phone.command('hangup');
    await phone.event('CALL_CLOSED', 10_000, from);
    // The BYE's answer is in the capture once dave has released the call.
    await waitNoCall('dave');
  } finally {
    await capture.stop();
  }
  if (label === 'tls') {
    expect(await tlsRecords(pcap, PHONE, PCSCF), `${label}: TLS records baresip sent`).toBeGreaterThanOrEqual(3);
    expect(await tlsRecords(pcap, PCSCF, PHONE), `${label}: TLS records baresip got`).toBeGreaterThanOrEqual(3);
  } else {
    expect(await sipFlow(pcap, PHONE, PCSCF), `${label}: requests baresip sent`).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'BYE']));
    expect(await sipFlow(pcap, PCSCF, PHONE), `${label}: answers baresip got`).toEqual(expect.arrayContaining(['180', '200']));
  }
  expectMediaBothWays(await rtpStreams(pcap), `${label} baresip→dave`);
  expect(await badPackets(pcap), `${label}: malformed or expert errors`).toEqual([]);
}

/** dave calls baresip through `imslab ctl call`; baresip answers by itself (answermode=auto). */
async function daveCallsBaresip(phone: Baresip, label: string): Promise<void> {
  const pcap = join(dir, `${label}-in.pcap`);
  const capture = await startCapture(pcap, CAPTURE, 40, PROBE);
  const from = phone.events.length;
  let r: Awaited<ReturnType<typeof callFrom>>;
  try {
    r = await callFrom(data, 'dave', CAROL, CALL_SECONDS);
  } finally {
    await capture.stop();
  }
  expect(r.code, `ctl call: ${r.stderr}`).toBe(0);
  const result = r.result!;
  expect(result.answered).toBe(true);
  expect(result.status).toBe(200);
  expect(result.durationMs).toBeGreaterThanOrEqual(CALL_SECONDS * 1000 - 100);
  expect(result.ended).toMatch(/BYE answered 200/);
  expect(result.rtp!.sent).toBeGreaterThanOrEqual(CALL_SECONDS * 50 * 0.8);
  expect(result.rtp!.received).toBeGreaterThanOrEqual(CALL_SECONDS * 50 * 0.8);
  // answermode=auto: baresip answers without a CALL_INCOMING event; its call is the incoming one.
  expect((await phone.event('CALL_ESTABLISHED', 1_000, from)).direction).toBe('incoming');
  expect((await phone.event('CALL_CLOSED', 5_000, from)).param).toBe('Connection reset by peer');
  if (label === 'tls') expect(await tlsRecords(pcap, PCSCF, PHONE), `${label}: TLS records baresip got`).toBeGreaterThanOrEqual(3);
  else expect(await sipFlow(pcap, PCSCF, PHONE), `${label}: requests baresip got`).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'BYE']));
  expectMediaBothWays(await rtpStreams(pcap), `${label} dave→baresip`);
  expect(await badPackets(pcap), `${label}: malformed or expert errors`).toEqual([]);
  figures.push(`${label} dave→baresip (ctl call): sent ${result.rtp!.sent}, received ${result.rtp!.received}, jitter ${result.rtp!.jitterMs} ms`);
}

async function waitNoCall(name: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    const u = (await ues(data)).result?.find((x) => x.name === name);
    if (u && u.calls === 0) return;
    if (Date.now() > end) throw new Error(`${name} still has a call: ${JSON.stringify(u)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function withBaresip(transport: 'udp' | 'tcp' | 'tls', body: (phone: Baresip) => Promise<void>): Promise<void> {
  const conf = join(dir, `baresip-${transport}`);
  renderBaresip(conf, { transport, pcscf: PCSCF, caFile, localAddress: PHONE, sipPort: 25060, ctrlPort: CTRL.port, rtpPorts: '61400-61499', regint: 60 });
  const phone = await Baresip.start(conf, CTRL, 120);
  try {
    const reg = await registeredAt(data, CAROL, `${transport}:${PHONE}:`);
    expect(reg.pcscf.impi).toBe(`carol@${DOMAIN}`);
    expect(reg.scscf.contacts.some((c) => c.uri.includes(PHONE))).toBe(true);
    figures.push(`${transport}: registered, contact ${reg.pcscf.contact} from ${reg.pcscf.ue}, expires in ${reg.pcscf.expiresInS} s`);
    await body(phone);
  } finally {
    await phone.stop();
  }
  // baresip deregisters when it quits (RFC 3261 §10.2.2): the core lets the binding go.
  await deregistered(data, CAROL);
}

describe.skipIf(skip !== undefined)('baresip registers and calls through imslab serve', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-bs-'));
    data = join(dir, 'd');
    const topology = join(dir, 'softphones.yaml');
    ({ dave } = writeSoftphoneTopology(topology, NET, 0));
    serve = await startServe(topology, ['--data', data, '--report', join(dir, 'report.json'), join(dir, 'report.html')]);
    const out = serve.output();
    expect(out).toContain(`Simulated UEs you can call: ${DAVE} (answers, echoes your audio), ${ERIN} (busy: 486)`);
    caFile = /TLS trust anchor \(CA certificate for clients\): (\S+)/.exec(out)?.[1] ?? '';
    expect(existsSync(caFile), `CA file printed by serve: ${caFile}`).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    if (figures.length) console.log(`baresip interop figures:\n  ${figures.join('\n  ')}`);
    if (dir && !process.env.KEEP_SOFTPHONE_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it('UDP: digest registration, a call to the echoing simulated UE and one from it, RTP both ways; busy UE 486', { timeout: 120_000 }, async () => {
    const listed = (await ues(data)).result!;
    expect(listed.map((u) => [u.name, u.state, u.answer, u.media])).toEqual([
      ['dave', 'registered', 'auto', 'echo'],
      ['erin', 'registered', 'busy', 'echo'],
    ]);
    await withBaresip('udp', async (phone) => {
      await baresipCallsDave(phone, 'udp');
      await daveCallsBaresip(phone, 'udp');
      const from = phone.events.length;
      await phone.command('dial', ERIN);
      const closed = await phone.event('CALL_CLOSED', 15_000, from);
      expect(closed.param).toBe('486 Busy Here');
    });
  });

  it('TCP: digest registration and calls both ways with RTP', { timeout: 120_000 }, async () => {
    await withBaresip('tcp', async (phone) => {
      await baresipCallsDave(phone, 'tcp');
      await daveCallsBaresip(phone, 'tcp');
    });
  });

  it('TLS (trust anchor from serve): digest registration and calls both ways with RTP', { timeout: 120_000 }, async () => {
    await withBaresip('tls', async (phone) => {
      await baresipCallsDave(phone, 'tls');
      await daveCallsBaresip(phone, 'tls');
    });
  });

  it('the conformance report lists baresip with "Supported: path" not met (TS 24.229 §5.1.1.2.1)', { timeout: 30_000 }, async () => {
    const stopped = await serve!.stop();
    expect(stopped.killed).toBe(false);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportJson;
    const phone = report.ues.filter((u) => u.identity.impi === `carol@${DOMAIN}`);
    // One entry per endpoint baresip used (UDP, TCP and TLS each from their own port), none of them a simulated UE.
    expect(phone.length).toBeGreaterThanOrEqual(1);
    expect(report.ues.every((u) => !u.address.startsWith(`${NET}.`))).toBe(true);
    for (const u of phone) {
      expect(u.userAgent ?? '').toMatch(/baresip/i);
      const path = u.requirements.find((r) => r.id === 'supported-path')!;
      expect(path.status).toBe('not-met');
      expect(path.clause).toContain('§5.1.1.2');
      expect(path.evidence).toMatch(/no Supported: path/);
    }
    figures.push(`report: ${phone.length} baresip endpoint(s) (${phone.map((u) => `${u.transport} ${u.address}`).join(', ')}); not met: ${[...new Set(phone.flatMap((u) => u.requirements.filter((r) => r.status === 'not-met').map((r) => r.id)))].join(', ')}`);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('Supported: path');
  });
});
