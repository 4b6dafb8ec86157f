/**
 * Drives real processes for the SIPp interop tests: `imslab serve` as a child, SIPp runs bounded in time, and
 * a tshark capture on loopback. Every process started here is stopped by the caller through the handle it
 * gets back.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = join(ROOT, 'bin/imslab.mjs');
export const SCENARIOS = join(ROOT, 'interop/sipp');
export const DOMAIN = 'ims.mnc001.mcc001.3gppnetwork.org';

/** Waits for `predicate` over a growing text, bounded; rejects with what was seen on timeout or exit. */
function waitForText(child: ChildProcess, read: () => string, predicate: (text: string) => boolean, what: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate(read())) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`${what}: the process exited (${code ?? signal}) first:\n${read()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: not seen within ${timeoutMs} ms:\n${read()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.stderr?.off('data', check);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', onExit);
    check();
  });
}

/** Sends `signal`, then SIGKILL if the process has not exited within `graceMs`. Resolves once it has exited. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<{ code: number | null; signal: string | null; killed: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode, killed: false });
  return new Promise((resolve) => {
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, killed });
    });
    child.kill(signal);
  });
}

/**
 * topologies/basic.yaml moved onto `net`.1-.4 (P-CSCF, I-CSCF, S-CSCF, HSS), without its scenarios (serve runs
 * none); its simulated UEs are dropped, or kept on `net`.10 (alice) and .11 (bob) with `keepUes`; optionally
 * importing `subscribersCsv` at load time.
 */
export function writeServeTopology(file: string, net: string, subscribersCsv?: string, o: { keepUes?: boolean; name?: string } = {}): void {
  const topo = parse(readFileSync(join(ROOT, 'topologies/basic.yaml'), 'utf8')) as Record<string, unknown> & {
    nodes: Array<{ kind: string; address?: string }>;
    ues?: Array<{ name: string; address?: string }>;
  };
  const host = { pcscf: 1, icscf: 2, scscf: 3, hss: 4 } as Record<string, number>;
  for (const n of topo.nodes) n.address = `${net}.${host[n.kind]}`;
  if (o.keepUes) for (const u of topo.ues ?? []) u.address = `${net}.${u.name === 'alice' ? 10 : 11}`;
  else delete topo.ues;
  delete topo.scenarios;
  delete topo.defaultScenario;
  topo.name = o.name ?? `sipp-interop-${net.replaceAll('.', '-')}`;
  if (subscribersCsv) topo.subscribersCsv = subscribersCsv;
  writeFileSync(file, stringify(topo));
}

export interface Serve {
  child: ChildProcess;
  output(): string;
  stop(): ReturnType<typeof stopProcess>;
}

/** `imslab serve TOPOLOGY ARGS…`, resolved once it prints its "imslab serving" banner and the P-CSCF line. */
export async function startServe(topology: string, args: string[], timeoutMs = 30_000): Promise<Serve> {
  const child = spawn(process.execPath, [BIN, 'serve', topology, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d));
  const serve: Serve = { child, output: () => text, stop: () => stopProcess(child, 'SIGTERM', 5_000) };
  try {
    await waitForText(child, () => text, (t) => t.includes('Ctrl-C stops the core'), 'imslab serve banner', timeoutMs);
  } catch (e) {
    await serve.stop();
    throw e;
  }
  return serve;
}

export type SippTransport = 'u1' | 't1' | 'l1';

export interface SippOptions {
  scenario: string;
  users: string;
  transport: SippTransport;
  /** SIPp's own address (-i). */
  local: string;
  /** The P-CSCF, host:port. */
  remote: string;
  calls: number;
  rate: number;
  limit: number;
  /** Where the statistics, error and screen files go. */
  dir: string;
  /** SIPp's own global timeout (-timeout, with -timeout_error); the process is killed 15 s after it. */
  timeoutSec: number;
  label: string;
}

export interface SippRun {
  code: number | null;
  args: string[];
  /** SIPp's per-message counts (-trace_counts), by column name, e.g. `6_403_Recv`. */
  counts: Record<string, string>;
  /** Every message SIPp sent and received (-trace_msg). */
  messageLog: string;
  /** The last line of SIPp's statistics file (-trace_stat), by column name; the "(C)" columns are cumulative. */
  stats: Record<string, string>;
  errors: string;
  output: string;
  wallMs: number;
}

export function sippArgs(o: SippOptions): string[] {
  return [
    o.remote,
    '-sf', join(SCENARIOS, o.scenario),
    '-inf', o.users,
    '-key', 'domain', DOMAIN,
    // SIPp's digest uri defaults to remote_ip:remote_port; the Request-URI is sip:DOMAIN (RFC 2617 §3.2.2.5).
    '-auth_uri', DOMAIN,
    '-t', o.transport,
    '-i', o.local,
    '-p', '5060',
    '-m', String(o.calls),
    '-r', String(o.rate),
    '-rp', '1000',
    '-l', String(o.limit),
    '-timeout', `${o.timeoutSec}s`,
    '-timeout_error',
    '-nostdin',
    '-trace_stat', '-stf', join(o.dir, `${o.label}.stat.csv`), '-fd', '1',
    '-trace_err', '-error_file', join(o.dir, `${o.label}.errors.log`),
    '-trace_msg', '-message_file', join(o.dir, `${o.label}.messages.log`),
    '-trace_counts',
  ];
}

/**
 * Runs SIPp in the foreground to its end (it exits by itself after -m calls or -timeout), with `extra` options
 * after sippArgs (a call's media address and port); `onSpawn` runs once the process is started.
 */
export function runSipp(o: SippOptions, extra: readonly string[] = [], onSpawn?: () => void): Promise<SippRun> {
  const args = [...sippArgs(o), ...extra];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('sipp', args, { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-20_000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-20_000)));
    const killer = setTimeout(() => child.kill('SIGKILL'), (o.timeoutSec + 15) * 1000);
    const finish = (code: number | null) => {
      clearTimeout(killer);
      const statFile = join(o.dir, `${o.label}.stat.csv`);
      const errorFile = join(o.dir, `${o.label}.errors.log`);
      const messageFile = join(o.dir, `${o.label}.messages.log`);
      // -trace_counts has no file option: SIPp writes <scenario>_<pid>_counts.csv into its working directory.
      const countsFile = join(o.dir, `${basename(o.scenario, '.xml')}_${child.pid}_counts.csv`);
      resolve({
        code,
        args,
        counts: existsSync(countsFile) ? readSippStats(readFileSync(countsFile, 'utf8')) : {},
        messageLog: existsSync(messageFile) ? readFileSync(messageFile, 'latin1') : '',
        stats: existsSync(statFile) ? readSippStats(readFileSync(statFile, 'utf8')) : {},
        errors: existsSync(errorFile) ? readFileSync(errorFile, 'utf8').slice(0, 10_000) : '',
        output,
        wallMs: performance.now() - started,
      });
    };
    child.once('error', (e) => {
      output += `\ncannot run sipp: ${e.message} (Debian package sip-tester)`;
      finish(-1);
    });
    child.once('close', (code) => finish(code));
    onSpawn?.();
  });
}

/** SIPp's statistics file: `;`-separated, a header line, then one line per dump; the last line is the final one. */
export function readSippStats(text: string): Record<string, string> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return {};
  const names = lines[0]!.split(';');
  const values = lines[lines.length - 1]!.split(';');
  const out: Record<string, string> = {};
  names.forEach((n, i) => {
    if (n !== '') out[n] = values[i] ?? '';
  });
  return out;
}

/** Sum of SIPp's per-message counts whose column ends with `suffix` (e.g. `_403_Recv`). */
export function countOf(run: SippRun, suffix: string): number {
  return Object.entries(run.counts)
    .filter(([k]) => k.endsWith(suffix))
    .reduce((n, [, v]) => n + Number(v), 0);
}

/** SIPp prints durations as HH:MM:SS:microseconds. */
export function sippDurationMs(text: string | undefined): number {
  const m = /^(\d+):(\d+):(\d+):(\d+)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000 + Number(m[4]) / 1000;
}

/** One line for the report: what SIPp measured. */
export function describeRun(label: string, run: SippRun): string {
  const s = run.stats;
  return (
    `${label}: exit ${run.code}, ${s['SuccessfulCall(C)']} ok / ${s['FailedCall(C)']} failed of ${s['OutgoingCall(C)']}, ` +
    `${Number(s['CallRate(C)']).toFixed(1)} calls/s, retransmissions ${s['Retransmissions(C)']}, ` +
    `RTD1 ${sippDurationMs(s['ResponseTime1(C)']).toFixed(2)} ms, RTD2 ${sippDurationMs(s['ResponseTime2(C)']).toFixed(2)} ms, ` +
    `wall ${(run.wallMs / 1000).toFixed(1)} s`
  );
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

export interface Capture {
  file: string;
  /** Stops the capture (SIGINT, so tshark closes the file) and resolves once tshark has exited. */
  stop(): Promise<void>;
}

/** tshark on the loopback interface with a BPF filter, bounded by `maxSeconds`; resolves once it captures. */
export async function startCapture(file: string, filter: string, maxSeconds: number): Promise<Capture> {
  const child = spawn('tshark', ['-i', 'lo', '-f', filter, '-a', `duration:${maxSeconds}`, '-w', file, '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.once('error', (e) => (text += `\ncannot run tshark: ${e.message}`));
  const capture: Capture = {
    file,
    stop: async () => {
      await stopProcess(child, 'SIGINT', 5_000);
    },
  };
  try {
    await waitForText(child, () => text, (t) => t.includes('Capturing on'), 'tshark capture start', 15_000);
  } catch (e) {
    await capture.stop();
    throw e;
  }
  return capture;
}

/** `tshark -r FILE -Y FILTER -T fields -e …`: one array of field values per matching packet. */
export async function tsharkFields(file: string, filter: string, fields: string[]): Promise<string[][]> {
  const r = await run('tshark', ['-r', file, '-Y', filter, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], 60_000);
  if (r.code !== 0) throw new Error(`tshark -r ${file} -Y "${filter}" failed (${r.code}): ${r.stderr}`);
  // tshark prints nothing but warns on stderr when a field name is wrong: treat that as a failure, not as "no packets".
  const complaints = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Running as user'));
  if (complaints.length > 0) throw new Error(`tshark -r ${file}: ${complaints.join('\n')}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}
