/**
 * Real softphones against `imslab serve` (issue 6 point 1, issue 5 point 8): the serve topology, baresip driven
 * over its ctrl_tcp interface, the control CLI, and what tshark reads from a capture. Every process started
 * here is stopped through the handle it returns; every wait is bounded.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createConnection, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { RegistrationsResult, UeCallResult, UeListEntry } from '../../../src/control/commands.js';
import { BIN, ROOT, stopProcess } from '../sipp/harness.js';

export const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';

/**
 * topologies/digest.yaml on `net`.`base`+1…+4 (P-CSCF, I-CSCF, S-CSCF, HSS). carol is left to the softphone;
 * dave stays a simulated UE (answers) at `base`+10, and erin, a third digest subscriber, answers busy at
 * `base`+11 — the three answers of issue 5 point 8 that a softphone can reach.
 */
export function writeSoftphoneTopology(file: string, net: string, base: number): { dave: string; erin: string } {
  const topo = parse(readFileSync(join(ROOT, 'topologies/digest.yaml'), 'utf8')) as {
    name: string;
    nodes: Array<{ kind: string; address?: string }>;
    subscribers: Array<Record<string, unknown>>;
    ues: Array<Record<string, unknown>>;
    scenarios?: unknown;
    defaultScenario?: unknown;
  };
  const host = { pcscf: 1, icscf: 2, scscf: 3, hss: 4 } as Record<string, number>;
  for (const n of topo.nodes) n.address = `${net}.${base + host[n.kind]!}`;
  const dave = `${net}.${base + 10}`;
  const erin = `${net}.${base + 11}`;
  topo.subscribers.push({ impi: `erin@${DOMAIN}`, impus: [`sip:erin@${DOMAIN}`], auth: 'digest', password: 'erin-secret' });
  topo.ues = [
    { name: 'dave', subscriber: `dave@${DOMAIN}`, address: dave, answer: 'auto' },
    { name: 'erin', subscriber: `erin@${DOMAIN}`, address: erin, answer: 'busy' },
  ];
  delete topo.scenarios;
  delete topo.defaultScenario;
  topo.name = `softphones-${net.replaceAll('.', '-')}-${base}`;
  writeFileSync(file, stringify(topo));
  return { dave, erin };
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** `imslab ctl ARGS --data DATA --json`, parsed; rejects with stderr when it exits non-zero and `ok` is required. */
export async function ctl<T>(data: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; result: T | undefined; stderr: string }> {
  const r = await run(process.execPath, [BIN, 'ctl', ...args, '--data', data, '--json'], timeoutMs);
  let result: T | undefined;
  try {
    result = JSON.parse(r.stdout) as T;
  } catch {
    result = undefined;
  }
  return { code: r.code, result, stderr: r.stderr };
}

export const registrations = (data: string) => ctl<RegistrationsResult>(data, ['registrations']);
export const ues = (data: string) => ctl<UeListEntry[]>(data, ['ues']);
export const callFrom = (data: string, from: string, to: string, seconds: number) =>
  ctl<UeCallResult>(data, ['call', from, to, '--duration', String(seconds)], seconds * 1000 + 80_000);

/** Polls `probe` until it returns a value (or the bound passes); the probes are control requests, not sleeps. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The P-CSCF's registration of `impu` from an endpoint starting with `uePrefix` (e.g. "tls:127.0.0.1:"). */
export async function registeredAt(data: string, impu: string, uePrefix: string, timeoutMs = 20_000) {
  return until(
    `${impu} registered from ${uePrefix}`,
    async () => {
      const r = (await registrations(data)).result;
      const p = Object.values(r?.pcscf ?? {}).flat().find((x) => x.impu === impu && x.ue.startsWith(uePrefix));
      const s = Object.values(r?.scscf ?? {}).flat().find((x) => x.impus.includes(impu));
      return p && s ? { pcscf: p, scscf: s } : undefined;
    },
    timeoutMs,
  );
}

/** Waits until neither the P-CSCF nor the S-CSCF holds a binding of `impu` (the softphone deregistered). */
export async function deregistered(data: string, impu: string, timeoutMs = 15_000): Promise<void> {
  await until(
    `${impu} deregistered`,
    async () => {
      const r = (await registrations(data)).result;
      if (!r) return undefined;
      const p = Object.values(r.pcscf).flat().some((x) => x.impu === impu);
      const s = Object.values(r.scscf).flat().some((x) => x.impus.includes(impu) && x.contacts.length > 0);
      return p || s ? undefined : true;
    },
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------------- baresip

export interface BaresipEvent {
  type: string;
  class?: string;
  direction?: string;
  peeruri?: string;
  param?: string;
  id?: string;
}

/**
 * baresip -f DIR, driven over ctrl_tcp: netstring-framed JSON commands `{command, params, token}`, answered by
 * `{response, ok, data, token}`, and every UA event pushed as `{event: true, type, …}`.
 */
export class Baresip {
  readonly events: BaresipEvent[] = [];
  output = '';
  private socket: Socket | undefined;
  private buffer = Buffer.alloc(0);
  private nextToken = 1;
  private readonly answers = new Map<string, (r: { ok: boolean; data: string }) => void>();
  private readonly listeners = new Set<() => void>();
  private readonly exited: Promise<void>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output = (this.output + d).slice(-200_000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output = (this.output + d).slice(-200_000)));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  /** Starts baresip (bounded by -t `maxSeconds`) and connects to its ctrl_tcp port. */
  static async start(dir: string, ctrl: { address: string; port: number }, maxSeconds: number): Promise<Baresip> {
    const b = new Baresip(spawn('baresip', ['-f', dir, '-t', String(maxSeconds)], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      b.socket = await until(
        'baresip ctrl_tcp',
        () =>
          new Promise<Socket | undefined>((resolve) => {
            if (b.child.exitCode !== null) throw new Error(`baresip exited (${b.child.exitCode}):\n${b.output}`);
            const s = createConnection({ host: ctrl.address, port: ctrl.port });
            s.once('connect', () => resolve(s));
            s.once('error', () => resolve(undefined));
          }),
        10_000,
        100,
      );
    } catch (e) {
      await b.stop();
      throw e;
    }
    b.socket.on('data', (d: Buffer) => b.onData(d));
    b.socket.on('error', () => undefined);
    return b;
  }

  private onData(d: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, d]);
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) return;
      const n = Number(this.buffer.subarray(0, colon).toString('latin1'));
      if (this.buffer.length < colon + 1 + n + 1) return;
      const text = this.buffer.subarray(colon + 1, colon + 1 + n).toString('utf8');
      this.buffer = this.buffer.subarray(colon + n + 2);
      const m = JSON.parse(text) as { event?: boolean; response?: boolean; token?: string; ok?: boolean; data?: string } & BaresipEvent;
      if (m.event) this.events.push(m);
      if (m.response && m.token) this.answers.get(m.token)?.({ ok: m.ok === true, data: m.data ?? '' });
      for (const l of this.listeners) l();
    }
  }

  /** A ctrl_tcp command, e.g. ('dial', 'sip:dave@…'), ('hangup'), ('quit'); resolves with baresip's answer. */
  command(command: string, params?: string): Promise<{ ok: boolean; data: string }> {
    const token = String(this.nextToken++);
    const json = JSON.stringify({ command, ...(params !== undefined ? { params } : {}), token });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`baresip: no answer to ${command} within 5 s`)), 5_000);
      this.answers.set(token, (r) => {
        clearTimeout(timer);
        this.answers.delete(token);
        resolve(r);
      });
      this.socket!.write(`${Buffer.byteLength(json)}:${json},`);
    });
  }

  /** The first event of `type` at index ≥ `from` (events so far included), within `timeoutMs`. */
  event(type: string, timeoutMs: number, from = 0): Promise<BaresipEvent> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const e = this.events.slice(from).find((x) => x.type === type);
        if (!e) return;
        cleanup();
        resolve(e);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`baresip: no ${type} event within ${timeoutMs} ms; events: ${this.events.map((e) => `${e.type}${e.param ? `(${e.param})` : ''}`).join(', ')}\n${this.output.slice(-3000)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** quit over ctrl_tcp (baresip deregisters first), then SIGTERM/SIGKILL if it lingers; resolves once it exited. */
  async stop(): Promise<void> {
    if (this.socket && this.child.exitCode === null) await this.command('quit').catch(() => undefined);
    const late = new Promise<'late'>((r) => setTimeout(() => r('late'), 5_000).unref());
    if ((await Promise.race([this.exited, late])) === 'late') await stopProcess(this.child, 'SIGTERM', 3_000);
    this.socket?.destroy();
  }
}

// ---------------------------------------------------------------------------------------------- tshark

export interface Capture {
  file: string;
  /** SIGINT (tshark closes the file), SIGKILL after 5 s; resolves once tshark has exited. */
  stop(): Promise<void>;
}

/**
 * tshark on lo with a BPF filter, bounded by `maxSeconds`. tshark says "Capturing on" before packets reach
 * its file, so it also prints what it captures (-P) and the capture counts as started once a probe datagram
 * to `probe` (an unused address inside the filter, discard port 9) shows up there; stop() probes again, so
 * that the last packets of a call are in the file before tshark is told to close it.
 */
export async function startCapture(file: string, filter: string, maxSeconds: number, probe: string): Promise<Capture> {
  const child = spawn('tshark', ['-i', 'lo', '-f', filter, '-a', `duration:${maxSeconds}`, '-w', file, '-P', '-l'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let probesSeen = 0;
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    text = (text + d).slice(-100_000);
    probesSeen += d.split('\n').filter((l) => l.includes(`→ ${probe} `) || l.includes(`-> ${probe} `)).length;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text = (text + d).slice(-100_000)));
  const socket = createSocket('udp4');
  /** Probes until tshark prints one more: every packet sent before it on lo is in the file by then. */
  const sync = async () => {
    const before = probesSeen;
    await until(
      `tshark capturing on ${filter}`,
      async () => {
        if (child.exitCode !== null) throw new Error(`tshark exited (${child.exitCode}): ${text}`);
        socket.send('imslab capture probe', 9, probe);
        return probesSeen > before ? true : undefined;
      },
      15_000,
      100,
    );
  };
  const capture: Capture = {
    file,
    stop: async () => {
      try {
        if (child.exitCode === null) await sync();
      } finally {
        socket.close();
        await stopProcess(child, 'SIGINT', 5_000);
      }
    },
  };
  try {
    await sync();
  } catch (e) {
    socket.close();
    await stopProcess(child, 'SIGKILL', 1_000);
    throw e;
  }
  return capture;
}

export interface RtpStream {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  ssrc: string;
  payload: string;
  packets: number;
  lost: number;
}

/** `tshark -o rtp.heuristic_rtp:TRUE -q -z rtp,streams`: one entry per stream, with its packets and losses. */
export async function rtpStreams(pcap: string): Promise<RtpStream[]> {
  const r = await run('tshark', ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-q', '-z', 'rtp,streams'], 60_000);
  if (r.code !== 0 || !r.stdout.includes('RTP Streams')) throw new Error(`tshark rtp,streams on ${pcap} failed (${r.code}): ${r.stderr}`);
  const out: RtpStream[] = [];
  for (const line of r.stdout.split('\n')) {
    // start end src sport dst dport SSRC payload packets lost (x%) …
    const m = /^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(0x[0-9A-Fa-f]+)\s+(\S+)\s+(\d+)\s+(-?\d+)\s/.exec(line);
    if (m) out.push({ src: m[1]!, srcPort: Number(m[2]), dst: m[3]!, dstPort: Number(m[4]), ssrc: m[5]!, payload: m[6]!, packets: Number(m[7]), lost: Number(m[8]) });
  }
  return out;
}

/** Packets Wireshark marks malformed or with an expert error; empty for a clean capture. */
export async function badPackets(pcap: string): Promise<string[]> {
  const r = await run(
    'tshark',
    ['-r', pcap, '-o', 'rtp.heuristic_rtp:TRUE', '-Y', '_ws.malformed || _ws.expert.severity == error', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.col.Protocol', '-e', '_ws.col.Info'],
    60_000,
  );
  const complaints = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Running as user'));
  if (r.code !== 0 || complaints.length) throw new Error(`tshark malformed check on ${pcap} failed (${r.code}): ${complaints.join('\n')}`);
  return r.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** SIP methods and statuses in capture order, "INVITE", "180", …, between two hosts. */
export async function sipFlow(pcap: string, a: string, b: string): Promise<string[]> {
  const r = await run('tshark', ['-r', pcap, '-Y', `sip && ip.src == ${a} && ip.dst == ${b}`, '-T', 'fields', '-e', 'sip.Method', '-e', 'sip.Status-Code'], 60_000);
  // A TCP segment may carry several messages: tshark lists their values comma-separated.
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => l.split(/[\t,]/).filter((x) => x !== ''));
}

/** TLS application-data records from `a` to `b` (SIP over TLS is opaque to tshark without the keys). */
export async function tlsRecords(pcap: string, a: string, b: string): Promise<number> {
  const r = await run('tshark', ['-r', pcap, '-Y', `tls.record.content_type == 23 && ip.src == ${a} && ip.dst == ${b}`, '-T', 'fields', '-e', 'frame.number'], 60_000);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}
