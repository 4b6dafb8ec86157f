import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { diameterSeeds } from '../../fuzz/corpus/diameter.js';

const BIN = fileURLToPath(new URL('../../bin/imslab.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'imslab-fuzz-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function imslab(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--expose-gc', BIN, 'fuzz', ...args], { timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const OPTIONS = [
  'OPTIONS sip:127.0.48.1 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.48.2:5070;branch=z9hG4bKcli1',
  'Max-Forwards: 70',
  'From: <sip:a@127.0.48.2>;tag=1',
  'To: <sip:127.0.48.1>',
  'Call-ID: cli-1',
  'CSeq: 1 OPTIONS',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

describe('imslab fuzz (through the real CLI)', () => {
  it('runs the named targets, prints inputs/s per target and exits 0 with no findings', async () => {
    const findings = join(dir, 'run-1');
    const r = await imslab('--targets', 'sip-uri,diameter-decode', '--inputs', '800', '--seconds', '20', '--seed', '7', '--findings', findings, '--no-rfc4475');
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n');
    expect(rows[0]).toMatch(/^target\s+inputs\s+accepted\s+inputs\/s\s+slowest ms\s+heap Δ MiB\s+findings\s+stopped$/);
    expect(rows.find((l) => l.startsWith('sip-uri '))).toMatch(/^sip-uri\s+400\s+\d+ %\s+[\d,]+\s+\d+\.\d\s+-?\d+\.\d\s+0\s+inputs$/);
    expect(rows.find((l) => l.startsWith('diameter-decode '))).toMatch(/^diameter-decode\s+400\s+/);
    expect(r.stdout).toContain('800 inputs in');
    expect(r.stdout).toContain('seed 7');
    expect(r.stdout).toContain('no findings');
    expect(r.stdout).not.toContain('RFC 4475');
    expect(r.stderr).toContain('sip-uri: up to 400 inputs');
  }, 90_000);

  it('adds captured traffic from an imslab JSON trace to the corpus, and --json writes the summary', async () => {
    const trace = join(dir, 'trace.json');
    writeFileSync(
      trace,
      JSON.stringify({
        format: 'imslab-trace',
        version: 1,
        events: [
          { seq: 1, type: 'packet', node: 'ue', direction: 'send', protocol: 'sip', transport: 'udp', local: { address: '127.0.48.2', port: 5070 }, remote: { address: '127.0.48.1', port: 5060 }, firstLine: '', length: OPTIONS.length, bytes: Buffer.from(OPTIONS).toString('base64') },
          { seq: 2, type: 'packet', node: 'hss', direction: 'send', protocol: 'diameter', transport: 'tcp', local: { address: '127.0.48.11', port: 3868 }, remote: { address: '127.0.48.12', port: 4000 }, firstLine: '', length: 0, bytes: diameterSeeds()[6]!.toString('base64') },
          { seq: 3, type: 'note', node: 'ue', level: 'info', text: 'not a packet' },
        ],
      }),
    );
    const json = join(dir, 'summary.json');
    const r = await imslab('--targets', 'sip-parse', '--inputs', '200', '--seconds', '20', '--corpus', trace, '--json', json, '--findings', join(dir, 'run-2'), '--no-rfc4475');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`1 SIP and 1 Diameter messages from ${trace}`);
    const summary = JSON.parse(readFileSync(json, 'utf8')) as { stats: Array<{ target: string; inputs: number }>; findings: unknown[]; corpus: { sources: string[] } };
    expect(summary.stats).toEqual([expect.objectContaining({ target: 'sip-parse', inputs: 200 })]);
    expect(summary.findings).toEqual([]);
    expect(summary.corpus.sources).toHaveLength(3);
  }, 90_000);

  it('replays one saved input against one target', async () => {
    const good = join(dir, 'good.bin');
    const bad = join(dir, 'bad.bin');
    writeFileSync(good, OPTIONS);
    writeFileSync(bad, 'OPTIONS sip:x SIP/2.0\r\nVia SIP/2.0/UDP x\r\n\r\n');
    const ok = await imslab('--targets', 'sip-parse', '--replay', good);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^sip-parse: accepted in \d+\.\d ms\naccepted\n$/);
    const rejected = await imslab('--targets', 'sip-parse', '--replay', bad);
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toMatch(/^sip-parse: rejected in \d+\.\d ms\nSipParseError: Header line without a colon/);
    const live = await imslab('--targets', 'live-sip-udp', '--replay', good);
    expect(live.code).toBe(0);
    expect(live.stdout).toContain('live-sip-udp: accepted');
    expect(live.stdout).toContain('the node handled it and still answers');
  }, 90_000);

  it('refuses bad input with exit code 2 and says why, writing nothing', async () => {
    const findings = join(dir, 'never');
    const cases: Array<[string[], RegExp]> = [
      [['--targets', 'nope'], /unknown target nope \(known: sip-parse, /],
      [['--inputs', 'abc'], /--inputs must be an integer from 1 to/],
      [['--inputs', '0'], /--inputs must be an integer from 1 to/],
      [['--seconds', '-5'], /--seconds must be a number from 1 to/],
      [['--seed', ' '], /--seed must not be empty/],
      [['--corpus', join(dir, 'missing.json')], /--corpus: .*missing\.json does not exist/],
      [['--rfc4475', join(dir, 'missing-dir')], /--rfc4475: .*missing-dir does not exist/],
      [['--replay', join(dir, 'missing.bin'), '--targets', 'sip-parse'], /--replay: .*missing\.bin is not a file/],
      [['--replay', join(dir, 'missing.bin')], /--replay needs exactly one target in --targets/],
    ];
    // A few at a time: each is a whole Node start-up.
    for (let i = 0; i < cases.length; i += 3) {
      const batch = cases.slice(i, i + 3);
      const runs = await Promise.all(batch.map(([args]) => imslab(...args, '--findings', findings)));
      runs.forEach((r, k) => {
        const [args, message] = batch[k]!;
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr, args.join(' ')).toMatch(message);
        expect(r.stdout, args.join(' ')).toBe('');
      });
    }
    const notATrace = join(dir, 'not-a-trace.json');
    writeFileSync(notATrace, '{"events": []}');
    const r = await imslab('--corpus', notATrace, '--findings', findings);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an imslab JSON trace/);
    expect(() => readdirSync(findings)).toThrow();
  }, 120_000);
});
