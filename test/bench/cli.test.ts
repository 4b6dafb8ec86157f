import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/imslab.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'imslab-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process; the run limit of --quick (38 s) plus process start bounds it. */
function imslab(...args: string[]): Promise<Run> {
  return imslabWith({}, ...args);
}

function imslabWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000, maxBuffer: 8 * 2 ** 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const RAN = [
  'ceiling.udp_roundtrips_per_s',
  'ceiling.udp_roundtrips_per_s.c1',
  'ceiling.udp_roundtrips_per_s.c8',
  'ceiling.udp_roundtrips_per_s.c32',
  'ceiling.udp_roundtrips_per_s.separate_echo.c1',
  'ceiling.udp_roundtrips_per_s.separate_echo.c8',
  'ceiling.udp_roundtrips_per_s.separate_echo.c32',
  'ceiling.echo_cpu_us_per_datagram.busy',
  'ceiling.echo_cpu_us_per_datagram.woken',
  'sip.parse_serialize_per_s',
  'sip.parse_serialize_per_s.register',
  'sip.parse_serialize_per_s.invite',
  'sip.transactions_per_s',
  'sip.transactions_per_s.c1',
  'sip.transactions_per_s.c8',
  'sip.transactions_per_s.c32',
  'sip.messages_per_s',
  'ratio.sip_messages_vs_ceiling',
  'ratio.sip_messages_vs_ceiling.separate_echo',
];

describe('imslab bench (through the real CLI)', () => {
  it('--quick --only ceiling,sip measures those figures and reports every other one as null with its reason', { timeout: 90_000 }, async () => {
    const file = join(dir, 'quick.json');
    const run = await imslab('bench', '--quick', '--only', 'ceiling,sip', '--json', file);
    expect(run.stderr).not.toMatch(/FAILED/);
    expect(run.code).toBe(0);
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
      notes: Record<string, string>;
      failures: unknown[];
      suites: Record<string, { status: string }>;
      run: { quick: boolean };
    };
    for (const key of RAN) {
      expect(typeof json[key], key).toBe('number');
      expect(json[key] as number, key).toBeGreaterThan(0);
    }
    // The echo's CPU per datagram, busy and woken, each from a count of datagrams it really sent back.
    const echoCpu = (json.suites.ceiling as unknown as { details: { echo_cpu: { busy_datagrams: number; woken_datagrams: number; busy_concurrency: number } } }).details.echo_cpu;
    expect(echoCpu.busy_concurrency).toBe(32);
    expect(echoCpu.busy_datagrams).toBeGreaterThan(1000);
    expect(echoCpu.woken_datagrams).toBeGreaterThan(0);
    expect(json.notes['ceiling.echo_cpu_us_per_datagram.woken']).toMatch(/one datagram every 10 ms, each waking the echo from sleep \(\d+ datagrams\): [\d.]+× the busy figure/);
    // Two messages per transaction: the derived figure follows from the measured one.
    expect(json['sip.messages_per_s']).toBe(2 * (json['sip.transactions_per_s'] as number));
    expect(json['ratio.sip_messages_vs_ceiling']).toBeCloseTo((json['sip.transactions_per_s'] as number) / (json['ceiling.udp_roundtrips_per_s'] as number), 3);

    // bench:peers needs SIPp and Kamailio: without them it is unavailable, with them left out by --only.
    for (const key of ['peers.imslab_calls_per_s', 'peers.kamailio_calls_per_s']) {
      expect(json[key], key).toBeNull();
      expect(json.notes[key], key).toMatch(/not in --only|^not measured: sipp\/kamailio not installed/);
    }
    // Suites that exist but were left out by --only: null, and the reason is --only, not a made-up value.
    for (const key of ['registration.doc_saps', 'call.doc_saps', 'call.max_media_calls_without_loss', 'diameter.encode_decode_per_s', 'diameter.package_encode_decode_per_s', 'diameter.pipelined_mar_per_s', 'memory.bytes_per_registered_ue', 'rtp.max_streams_without_loss']) {
      expect(json[key], key).toBeNull();
      expect(json.notes[key], key).toMatch(/not in --only/);
    }
    expect(json['ratio.diameter_codec_vs_package']).toBeNull();
    expect(json.notes['ratio.diameter_codec_vs_package']).toMatch(/diameter\.encode_decode_per_s .*null/);
    expect(json.failures).toEqual([]);
    expect(json.suites.ceiling!.status).toBe('ok');
    expect(json.suites.sip!.status).toBe('ok');
    expect(json.suites.registration!.status).toBe('skipped');
    expect(json.run.quick).toBe(true);
    // The table names the figures it measured.
    expect(run.stdout).toMatch(/^sip\.transactions_per_s\s+[\d,]+\s+\/s/m);
  });

  it('a suite that fails gives a non-zero exit naming the suite and its step; the other suites still run', { timeout: 90_000 }, async () => {
    const file = join(dir, 'failed.json');
    const run = await imslab('bench', '--quick', '--seconds', '0.2', '--only', 'sip,diameter', '--inject-failure', 'sip', '--json', file);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/suite sip failed in step "SIP parse \+ serialize/);
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {
      notes: Record<string, string>;
      failures: Array<{ suite: string; step: string; message: string }>;
    };
    expect(json.failures).toHaveLength(1);
    expect(json.failures[0]!.suite).toBe('sip');
    expect(json.failures[0]!.message).toMatch(/injected/);
    expect(json['sip.transactions_per_s']).toBeNull();
    expect(json.notes['sip.transactions_per_s']).toMatch(/the sip suite failed in step/);
    // The suite after the failed one ran and measured.
    expect(json['diameter.encode_decode_per_s'] as number).toBeGreaterThan(0);
  });

  it('a missed target says why, in the printed report and in the JSON (a one-step registration ladder)', { timeout: 90_000 }, async () => {
    const file = join(dir, 'missed.json');
    // One step of 50 SAPS, one mode, no pattern, a lenient threshold: the ladder passes and its top sets the figure.
    // A port of its own, so that it cannot meet another storm test's core running at the same time.
    const env = { IMSLAB_STORM_STEPS: '50', IMSLAB_STORM_MODES: 'one-process', IMSLAB_PATTERN_STEPS: '0', IMSLAB_STORM_LATENCY_MS: '5000', IMSLAB_STORM_PORT: '27460' };
    const run = await imslabWith(env, 'bench', '--quick', '--only', 'registration', '--json', file);
    expect(run.code).toBe(0);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { targets: Record<string, { met: boolean | null; why?: string[] }> };
    expect(json.targets['registration.doc_saps']).toMatchObject({ met: false, why: [expect.stringMatching(/^the ladder ended at 50 SAPS with every step within the limit/)] });
    // Not measured is not missed: no explanation for a figure that is null.
    expect(json.targets['registration.doc_saps.separate_processes']).toMatchObject({ met: null });
    expect(json.targets['registration.doc_saps.separate_processes']!.why).toBeUndefined();
    expect(run.stdout).toMatch(/why missed:\n {2}registration\.doc_saps: 50 against >= 2000\n {4}- the ladder ended at 50 SAPS/);
  });

  it('bad input is refused with exit 2 before anything runs', async () => {
    const unknown = await imslab('bench', '--only', 'ceiling,nosuch');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown suite nosuch/);
    const seconds = await imslab('bench', '--seconds', 'fast');
    expect(seconds.code).toBe(2);
    expect(seconds.stderr).toMatch(/--seconds must be a number/);
    const missingDir = join(dir, 'no', 'such', 'dir', 'out.json');
    const path = await imslab('bench', '--quick', '--only', 'sip', '--json', missingDir);
    expect(path.code).toBe(2);
    expect(path.stderr).toMatch(/does not exist/);
    expect(existsSync(missingDir)).toBe(false);
    // Nothing measured: no suite progress was printed.
    expect(path.stderr).not.toMatch(/bench: sip/);
  });
});
