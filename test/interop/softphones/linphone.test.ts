/**
 * linphonec 5.1 (Debian linphone-cli) against `imslab serve` over UDP (issue 6 point 1): digest registration,
 * a call to the echoing simulated UE and one from it (`imslab ctl call`), RTP both ways in a tshark capture.
 * Without a sound card linphone sends RTP only while it plays a file ("soundcard use files", "play FILE").
 *
 * In some sandboxes linphonec opens no SIP port at all (its `ports` command shows "sip port = 0"): then this
 * test says so plainly and checks that detection instead of failing on a phone that cannot send anything.
 *
 * The core runs on 127.0.54.33-36, the simulated UEs on .42/.43 (capture 127.0.54.32/28); linphonec on
 * 127.0.0.1:25080, RTP 61500-61599.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderLinphone } from '../../../interop/linphone/render.js';
import { startServe, stopProcess, type Serve } from '../sipp/harness.js';
import { skipReason } from '../helpers/peers.js';
import { badPackets, callFrom, DOMAIN, registeredAt, rtpStreams, startCapture, ues, until, writeSoftphoneTopology, type RtpStream } from './harness.js';

const NET = '127.0.54';
const BASE = 32;
const CAPTURE = `net ${NET}.${BASE}/28`;
const PROBE = `${NET}.${BASE + 15}`;
const PHONE = '127.0.0.1';
const CAROL = `sip:carol@${DOMAIN}`;
const DAVE = `sip:dave@${DOMAIN}`;
const CALL_SECONDS = 3;

let dir: string;
let data: string;
let serve: Serve | undefined;
let dave: string;
let caFile: string;
const figures: string[] = [];

const skip = skipReason(['linphonec', 'tshark'], 'linphone-cli tshark');

/** linphonec with its console on a pipe: commands in, output collected for bounded waits. */
class Linphonec {
  output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  static start(home: string, rc: string): Linphonec {
    return new Linphonec(spawn('linphonec', ['-c', rc, '-a'], { env: { ...process.env, HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  send(line: string): number {
    const mark = this.output.length;
    this.child.stdin!.write(`${line}\n`);
    return mark;
  }

  /** The first match of `pattern` in the output after `from`, within `timeoutMs`. */
  wait(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    return until(`linphonec ${pattern}`, async () => {
      if (this.child.exitCode !== null) throw new Error(`linphonec exited (${this.child.exitCode})`);
      return this.output.slice(from).match(pattern) ?? undefined;
    }, timeoutMs, 100).catch((e: Error) => {
      throw new Error(`${e.message}; output ends:\n${this.output.slice(-2000)}`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.send('quit');
    const late = new Promise<'late'>((r) => setTimeout(() => r('late'), 5_000).unref());
    const exited = new Promise<void>((r) => (this.child.exitCode !== null ? r() : this.child.once('exit', () => r())));
    if ((await Promise.race([exited, late])) === 'late') await stopProcess(this.child, 'SIGTERM', 3_000);
  }
}

/** 8 kHz 16-bit mono PCM WAV of a 523 Hz sine: what linphone plays into a call. */
function writeTone(file: string, seconds: number): void {
  const rate = 8000;
  const samples = rate * seconds;
  const b = Buffer.alloc(44 + samples * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) b.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 523 * i) / rate)), 44 + i * 2);
  writeFileSync(file, b);
}

function expectMediaBothWays(streams: RtpStream[], label: string): void {
  const why = `${label}: ${JSON.stringify(streams)}`;
  const up = streams.filter((s) => s.src === PHONE && s.dst === dave);
  const down = streams.filter((s) => s.src === dave && s.dst === PHONE);
  expect(up.length, why).toBe(1);
  expect(down.length, why).toBe(1);
  for (const s of [up[0]!, down[0]!]) {
    expect(s.packets, why).toBeGreaterThanOrEqual(50);
    expect(s.lost, why).toBe(0);
  }
  figures.push(`${label}: RTP linphone→UE ${up[0]!.packets} packets (${up[0]!.payload}), UE→linphone ${down[0]!.packets}, lost ${up[0]!.lost}/${down[0]!.lost}`);
}

describe.skipIf(skip !== undefined)('linphonec registers and calls through imslab serve', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imslab-lp-'));
    data = join(dir, 'd');
    const topology = join(dir, 'softphones.yaml');
    ({ dave } = writeSoftphoneTopology(topology, NET, BASE));
    serve = await startServe(topology, ['--data', data]);
    caFile = /TLS trust anchor \(CA certificate for clients\): (\S+)/.exec(serve.output())?.[1] ?? '';
    writeTone(join(dir, 'tone.wav'), 20);
  }, 60_000);

  afterAll(async () => {
    await serve?.stop();
    if (figures.length) console.log(`linphonec interop figures:\n  ${figures.join('\n  ')}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('UDP: registers with digest, calls the echoing simulated UE and is called by it, RTP both ways — or says it opened no SIP port', { timeout: 120_000 }, async () => {
    const home = join(dir, 'linphone');
    const rc = renderLinphone(home, { transport: 'udp', pcscf: `${NET}.${BASE + 1}`, caFile, sipPort: 25080, rtpPorts: '61500-61599' });
    const phone = Linphonec.start(home, rc);
    try {
      const ports = await phone.wait(/sip port = (\d+)/, 15_000, phone.send('ports'));
      const sipPort = Number(ports[1]);
      if (sipPort === 0) {
        // The sandbox gives linphonec no SIP listening point: it cannot register, so there is nothing to test.
        console.warn('linphonec: not available here — it opened no SIP port ("ports" shows sip port = 0); skipping its calls');
        expect(phone.output).toMatch(/sip port = 0/);
        return;
      }
      expect(sipPort).toBe(25080);
      const reg = await registeredAt(data, CAROL, `udp:${PHONE}:25080`);
      figures.push(`registered: ${reg.pcscf.contact} from ${reg.pcscf.ue}`);
      phone.send('soundcard use files');

      // linphonec calls dave, plays the tone, hangs up after CALL_SECONDS.
      let pcap = join(dir, 'out.pcap');
      let capture = await startCapture(pcap, CAPTURE, 40, PROBE);
      try {
        const mark = phone.send(`call ${DAVE}`);
        await phone.wait(/Call \d+ with \S+ connected/, 15_000, mark);
        phone.send(`play ${join(dir, 'tone.wav')}`);
        await new Promise((r) => setTimeout(r, CALL_SECONDS * 1000));
        await phone.wait(/ended/, 10_000, phone.send('terminate'));
        await until('dave released the call', async () => ((await ues(data)).result?.find((u) => u.name === 'dave')?.calls === 0 ? true : undefined), 10_000);
      } finally {
        await capture.stop();
      }
      expectMediaBothWays(await rtpStreams(pcap), 'linphone→dave');
      expect(await badPackets(pcap)).toEqual([]);

      // dave calls linphonec (auto-answer, -a); it plays the tone once connected.
      pcap = join(dir, 'in.pcap');
      capture = await startCapture(pcap, CAPTURE, 40, PROBE);
      let result: Awaited<ReturnType<typeof callFrom>>;
      try {
        const mark = phone.output.length;
        const call = callFrom(data, 'dave', CAROL, CALL_SECONDS);
        await phone.wait(/Call \d+ with \S+ connected/, 15_000, mark);
        phone.send(`play ${join(dir, 'tone.wav')}`);
        result = await call;
      } finally {
        await capture.stop();
      }
      expect(result.code, result.stderr).toBe(0);
      expect(result.result!.answered).toBe(true);
      expect(result.result!.rtp!.received).toBeGreaterThan(0);
      expectMediaBothWays(await rtpStreams(pcap), 'dave→linphone');
      expect(await badPackets(pcap)).toEqual([]);
      figures.push(`dave→linphone (ctl call): ${result.result!.status} ${result.result!.reason}, sent ${result.result!.rtp!.sent}, received ${result.result!.rtp!.received}`);
    } finally {
      await phone.stop();
    }
  });
});
