/**
 * The users file is read by two parsers: SIPp's (-inf: mode line, `#` comments, `;` fields) and the HSS
 * importer's. Both must see the same identities and the same key octets, or every challenge fails.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSubscriberCsv } from '../../../src/hss/csv.js';
import { formatUserFile, makeUsers } from '../../../interop/sipp/make-users.js';

const SCRIPT = fileURLToPath(new URL('../../../interop/sipp/make-users.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));

function generator(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSX, SCRIPT, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/** SIPp's view of a data line: `;`-separated fields, field0 first. */
const sippFields = (line: string) => line.split(';');

describe('make-users: one file for SIPp and for the HSS', () => {
  it('AKA: the HSS stores the octets of the very characters SIPp passes as aka_K, aka_OP and aka_AMF', () => {
    const users = makeUsers({ count: 200, prefix: 'x' });
    const text = formatUserFile(users, 'aka');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('SEQUENTIAL');
    expect(lines[1]!.startsWith('#')).toBe(true); // a comment to SIPp, the column line to the HSS
    expect(lines).toHaveLength(202);

    const stored = parseSubscriberCsv(text, 'users.csv');
    expect(stored).toHaveLength(200);
    stored.forEach((s, i) => {
      const [impi, impu, k, op, amf, user] = sippFields(lines[i + 2]!);
      expect(s.impi).toBe(impi);
      expect(s.impus.map((p) => p.uri)).toEqual([impu]);
      expect(k).toHaveLength(16);
      expect(op).toHaveLength(16);
      expect(amf).toHaveLength(2);
      expect(s.k).toEqual(Buffer.from(k!, 'latin1'));
      expect(s.op).toEqual(Buffer.from(op!, 'latin1'));
      expect(s.amf).toEqual(Buffer.from([0x61, 0x6d]));
      expect(s.authSchemes).toContain('AKAv1-MD5');
      expect(impu).toBe(`sip:${user}@ims.mnc001.mcc001.3gppnetwork.org`);
    });
    // Nothing a SIPp keyword or the ; separator could cut.
    for (const line of lines.slice(2)) expect(line).toMatch(/^[A-Za-z0-9@.:;]+$/);
  });

  it('users are distinct, and reproducible from the seed', () => {
    const a = makeUsers({ count: 1000 });
    expect(new Set(a.map((u) => u.impi)).size).toBe(1000);
    expect(new Set(a.map((u) => u.k)).size).toBe(1000);
    expect(makeUsers({ count: 1000 })).toEqual(a);
    const other = makeUsers({ count: 1000, seed: 'another' });
    expect(other.filter((u, i) => u.k === a[i]!.k)).toEqual([]);
  });

  it('digest: password in field2 is the HSS password, scheme SIP Digest', () => {
    const users = makeUsers({ count: 3, scheme: 'digest', prefix: 'd' });
    const text = formatUserFile(users, 'digest');
    const stored = parseSubscriberCsv(text, 'digest.csv');
    stored.forEach((s, i) => {
      const [impi, , password, user] = sippFields(text.trimEnd().split('\n')[i + 2]!);
      expect(s.impi).toBe(impi);
      expect(s.password).toBe(password);
      expect(s.authSchemes).toEqual(['SIP Digest']);
      expect(user).toBe(`d${String(i + 1).padStart(6, '0')}`);
    });
  });

  it('refuses what SIPp or the HSS could not use', () => {
    expect(() => makeUsers({ count: 0 })).toThrow(/count/);
    expect(() => makeUsers({ count: 2.5 })).toThrow(/count/);
    expect(() => makeUsers({ count: 1, prefix: 'bad;prefix' })).toThrow(/prefix/);
    expect(() => makeUsers({ count: 1, amf: '8000' })).toThrow(/amf/);
    expect(() => makeUsers({ count: 1, domain: 'a b' })).toThrow(/domain/);
  });

  it('the command writes the file, and says what is wrong with exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imslab-make-users-'));
    try {
      const out = join(dir, 'users.csv');
      const ok = await generator('--count', '5', '--scheme', 'aka', '--out', out);
      expect(ok.code).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe(formatUserFile(makeUsers({ count: 5 }), 'aka'));
      const bad = await generator('--count', 'many');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('count must be a number');
      const scheme = await generator('--scheme', 'tls');
      expect(scheme.code).toBe(2);
      expect(scheme.stderr).toContain('scheme must be aka or digest');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
