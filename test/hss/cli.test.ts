import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSubscriberStore } from '../../src/hss/sqlite-store.js';

const bin = join(import.meta.dirname, '../../bin/imslab.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'imslab-hss-cli-'));
  dirs.push(d);
  return d;
}

function imslab(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('imslab hss', () => {
  it('add, list, show, remove', async () => {
    const data = tempDir();
    const add = await imslab([
      'hss', 'add', '--data', data, '--impi', 'alice@ims.lab', '--impu', 'sip:alice@ims.lab', 'tel:+15550001',
      '--k', '465b5ce8b199b49faa5f0a2ee238a6bc', '--op', 'cdc202d5123e20f62b6d676ac72cb318', '--sqn', '20', '--barred', 'tel:+15550001',
    ]);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    const digest = await imslab(['hss', 'add', '--impi', 'bob@ims.lab', '--impu', 'sip:bob@ims.lab', '--password', 'pw'], { IMSLAB_DATA: data });
    expect(digest.code).toBe(0);

    const list = await imslab(['hss', 'list', '--data', data]);
    expect(list.stdout).toMatch(/^alice@ims\.lab  \[AKAv1-MD5, AKAv2-MD5\]  sqn 000000000020$/m);
    expect(list.stdout).toMatch(/^  tel:\+15550001 \(barred\) NOT_REGISTERED$/m);
    expect(list.stdout).toMatch(/^bob@ims\.lab  \[SIP Digest\]/m);

    const show = await imslab(['hss', 'show', 'alice@ims.lab', '--data', data]);
    const json = JSON.parse(show.stdout);
    expect(json.secrets.k).toBe('465b5ce8b199b49faa5f0a2ee238a6bc');
    expect(json.secrets._note).toMatch(/lab secrets/);
    expect(json.impus).toEqual([{ uri: 'sip:alice@ims.lab', barred: false }, { uri: 'tel:+15550001', barred: true }]);
    expect(json.registrations[0]).toEqual({ impu: 'sip:alice@ims.lab', state: 'NOT_REGISTERED', authPending: false });

    const removed = await imslab(['hss', 'remove', 'bob@ims.lab', '--data', data]);
    expect(removed.code).toBe(0);
    const again = await imslab(['hss', 'remove', 'bob@ims.lab', '--data', data]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`error: no subscriber bob@ims.lab in ${join(data, 'hss.sqlite')}\n`);

    const store = new SqliteSubscriberStore(data);
    try {
      expect(store.list().map((s) => s.impi)).toEqual(['alice@ims.lab']);
      expect(store.get('alice@ims.lab')!.sqn).toBe(0x20n);
    } finally {
      store.close();
    }
  });

  it('refuses a bad add with one clear line and stores nothing', async () => {
    const data = tempDir();
    const r = await imslab(['hss', 'add', '--data', data, '--impi', 'alice@ims.lab', '--impu', 'sip:alice@ims.lab', '--k', '465b', '--op', 'cdc202d5123e20f62b6d676ac72cb318']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: --k: must be 32 hex digits (or 16 characters, as SIPp takes it), got 4 characters\n');
    const list = await imslab(['hss', 'list', '--data', data]);
    expect(list.stdout).toMatch(/^no subscribers/);
  });

  it('imports a good file and refuses a bad one without importing any of it', async () => {
    const data = tempDir();
    const good = join(data, 'good.csv');
    writeFileSync(good, 'SEQUENTIAL\n#impi;impu;password\na@x.lab;sip:a@x.lab;pw;\nb@x.lab;sip:b@x.lab;pw;\n');
    const ok = await imslab(['hss', 'import', good, '--data', data]);
    expect(ok.stdout).toBe(`imported 2 subscribers from ${good} into ${join(data, 'hss.sqlite')}\n`);
    const bad = join(data, 'bad.csv');
    writeFileSync(bad, 'impi;impu;k;op\nc@x.lab;sip:c@x.lab;465b5ce8b199b49faa5f0a2ee238a6bc;cdc202d5123e20f62b6d676ac72cb318\nd@x.lab;sip:d@x.lab;465b5ce8b199b49faa5f0a2ee238a6bc;cdc2\n');
    const r = await imslab(['hss', 'import', bad, '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: ${bad}:3: field "op": must be 32 hex digits (or 16 characters, as SIPp takes it), got 4 characters\n`);
    const list = await imslab(['hss', 'list', '--json', '--data', data]);
    expect(JSON.parse(list.stdout).map((s: { impi: string }) => s.impi)).toEqual(['a@x.lab', 'b@x.lab']);
  });
});
