/**
 * SIPp as bench:peers drives it: one run of a scenario at a fixed rate and count, judged by SIPp's own
 * statistics file (-trace_stat), and a long-running answerer. Only loopback addresses, every run bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const BUFFER_BYTES = 4 * 1024 * 1024;

export interface SippStep {
  /** The rate asked for (scenarios per second). */
  target: number;
  calls: number;
  successful: number;
  failed: number;
  retransmissions: number;
  /** Scenarios per second as SIPp measured them (CallRate(C)), counting successful ones only. */
  achieved: number;
  /** SIPp's exit code (0: every call succeeded). */
  exitCode: number | null;
  clean: boolean;
}

export interface SippRunOptions {
  scenario: string;
  server: { address: string; port: number };
  local: { address: string; port: number };
  rate: number;
  count: number;
  workDir: string;
  keys: Record<string, string>;
  inf?: string;
  /** Hard bound of the run, in seconds (SIPp's -timeout, and a kill shortly after). */
  timeoutSeconds: number;
}

/** A step is clean when every scenario succeeded, retransmissions stayed under 1 %, and the rate was reached (90 %). */
export function judge(target: number, count: number, stat: Record<string, string>, exitCode: number | null): SippStep {
  const n = (k: string) => Number(stat[k] ?? NaN);
  const successful = n('SuccessfulCall(C)');
  const failed = n('FailedCall(C)');
  const retransmissions = n('Retransmissions(C)');
  const created = n('OutgoingCall(C)');
  const rate = n('CallRate(C)');
  const achieved = created > 0 && Number.isFinite(rate) ? (rate * successful) / created : 0;
  const clean = exitCode === 0 && failed === 0 && successful === count && retransmissions <= count * 0.01 && achieved >= 0.9 * target;
  return { target, calls: count, successful, failed, retransmissions, achieved: Math.round(achieved), exitCode, clean };
}

/** The last line of a -trace_stat file as a record (semicolon-separated, header first). */
export function readStat(path: string): Record<string, string> {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim().length > 0);
  if (lines.length < 2) return {};
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const out: Record<string, string> = {};
  head.forEach((h, i) => (out[h] = last[i] ?? ''));
  return out;
}

function keyArgs(keys: Record<string, string>): string[] {
  return Object.entries(keys).flatMap(([k, v]) => ['-key', k, v]);
}

/** Runs one SIPp UAC step and returns its judged statistics. */
export async function runSipp(o: SippRunOptions): Promise<SippStep> {
  const stat = join(o.workDir, `stat-${o.local.port}-${o.rate}-${Date.now()}.csv`);
  const args = [
    `${o.server.address}:${o.server.port}`,
    '-sf', o.scenario,
    ...(o.inf ? ['-inf', o.inf] : []),
    ...keyArgs(o.keys),
    '-i', o.local.address,
    '-p', String(o.local.port),
    '-r', String(o.rate),
    '-m', String(o.count),
    // At most one second's worth in flight: a server that falls behind shows as a rate not reached.
    '-l', String(Math.max(50, o.rate)),
    '-recv_timeout', '4000',
    '-timeout', `${o.timeoutSeconds}s`,
    // TOOLS.md: under load a 180 may overtake a 200; unexpected messages must not abort the run.
    '-default_behaviors', 'all,-abortunexp',
    '-trace_stat', '-stf', stat, '-fd', '1',
    // Bursts at thousands per second overflow the default UDP receive buffer; a drop would be SIPp's, not the server's.
    '-buff_size', String(BUFFER_BYTES),
    '-nostdin',
  ];
  const child = spawn('sipp', args, { cwd: o.workDir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exitCode = await exited(child, (o.timeoutSeconds + 5) * 1000);
  let record: Record<string, string> = {};
  try {
    record = readStat(stat);
    rmSync(stat, { force: true });
  } catch {
    throw new Error(`SIPp wrote no statistics (exit ${exitCode}): ${stderr.trim() || 'no output'}`);
  }
  return judge(o.rate, o.count, record, exitCode);
}

/** Waits for a child to exit; SIGKILLs it after `ms`. Resolves with the exit code (null when killed). */
export function exited(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** The answering SIPp (-sf uas-call.xml), running until stopped. */
export function startUas(scenario: string, local: { address: string; port: number }, workDir: string): ChildProcess {
  return spawn('sipp', ['-sf', scenario, '-i', local.address, '-p', String(local.port), '-recv_timeout', '10000', '-buff_size', String(BUFFER_BYTES), '-nostdin'], { cwd: workDir, stdio: 'ignore' });
}
