import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { vectorPath } from '../../helpers/vectors.js';

const run = promisify(execFile);
const BIN = join(import.meta.dirname, '../../../bin/imslab.mjs');
const VECTORS = vectorPath('rfc4475');

async function imslab(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { timeout: 15_000 });
    return { code: 0, stdout: r.stdout };
  } catch (e) {
    const err = e as { code?: number; stdout?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '' };
  }
}

describe('imslab sip', () => {
  it('check prints one JSON verdict line and exits 1 on reject', async () => {
    const r = await imslab(['sip', 'check', join(VECTORS, 'unkscm.dat'), '--as', 'proxy']);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ verdict: 'reject', status: 416, reason: 'Unsupported URI scheme nobodyknowsthisscheme' });
  });

  it('check exits 0 on accept', async () => {
    const r = await imslab(['sip', 'check', join(VECTORS, 'wsinv.dat'), '--as', 'proxy']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'accept' });
  });

  it('parse prints the message with typed views and a base64 body when binary', async () => {
    const r = await imslab(['sip', 'parse', join(VECTORS, 'mpart01.dat')]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.startLine.method).toBe('MESSAGE');
    expect(j.body.length).toBe(553);
    expect(j.body.base64).toBeDefined();
    const via = j.headers.find((h: { name: string }) => h.name === 'Via');
    expect(via.parsed[0].transport).toBe('UDP');
  });
});
