import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusResult } from '../../src/control/commands.js';
import { ALICE_IMPU, controlTopology, tempDir } from './helpers.js';

const bin = join(import.meta.dirname, '../../bin/imslab.mjs');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function imslab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `imslab serve` as a child; resolves once it says the core is up. */
async function serve(args: string[]): Promise<{ child: ChildProcess; exited: Promise<number | null>; output: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`serve did not come up within 30 s:\n${out}`)), 30_000);
    const check = () => {
      if (out.includes('Ctrl-C stops the core.')) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => reject(new Error(`serve exited:\n${out}`)));
  });
  return { child, exited, output: () => out };
}

describe('imslab ctl and hss deregister against a running imslab serve', () => {
  it('status (text and JSON, by --data and by --topology), stop/start, a refused RTR, no serve, SIGTERM removes the socket', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const data = join(dir.path, 'd');
    const topology = join(dir.path, 'control.yaml');
    writeFileSync(topology, controlTopology(81, 'dataDir: d'));
    const s = await serve([topology, '--no-ues']);
    expect(s.output()).toContain(`Control: imslab ctl status --data ${data}`);

    const text = await imslab(['ctl', 'status', '--data', data]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`imslab serve: control-81 (data in ${data})`);
    expect(text.stdout).toMatch(/^ {2}hss1 +hss +127\.0\.52\.84 +diameter\/23868 +running$/m);
    expect(text.stdout).toMatch(/^ {2}scscf1 {2}transactions: 0 client, 0 server;/m);
    expect(text.stdout).toMatch(/^ {2}hss1 {2}diameter: 0 open of 0 connections$/m);

    const stop = await imslab(['ctl', 'stop', 'hss1', '--topology', topology]);
    expect([stop.code, stop.stdout, stop.stderr]).toEqual([0, 'stopped hss1\n', '']);
    const json = await imslab(['ctl', 'status', '--topology', topology, '--json']);
    const status = JSON.parse(json.stdout) as StatusResult;
    expect(status.nodes.map((n) => `${n.name}:${n.running}`)).toEqual(['pcscf1:true', 'icscf1:true', 'scscf1:true', 'hss1:false']);
    expect(status.counters['hss1']).toBeUndefined();

    const noHss = await imslab(['hss', 'deregister', ALICE_IMPU, '--data', data]);
    expect([noHss.code, noHss.stderr]).toEqual([1, 'error: hss1 is not running\n']);
    expect((await imslab(['ctl', 'start', 'hss1', '--data', data])).stdout).toBe('started hss1\n');

    const rtr = await imslab(['hss', 'deregister', ALICE_IMPU, '--data', data, '--reason', 'server-change']);
    expect(rtr.code).toBe(1);
    expect(rtr.stderr).toBe(`error: ${ALICE_IMPU} is not registered: there is no S-CSCF to send an RTR to\n`);
    const badReason = await imslab(['hss', 'deregister', ALICE_IMPU, '--data', data, '--reason', 'bored']);
    expect(badReason.code).toBe(1);
    expect(badReason.stderr).toMatch(/^error: --reason: "bored" is not one of permanent, new-server, server-change, remove-scscf$/m);

    const elsewhere = join(dir.path, 'none');
    const none = await imslab(['ctl', 'status', '--data', elsewhere]);
    expect([none.code, none.stderr]).toEqual([1, `error: no imslab serve is running with data dir ${elsewhere}\n`]);

    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(existsSync(join(data, 'control.sock'))).toBe(false);
    const after = await imslab(['hss', 'push-profile', 'alice@x', '--data', data]);
    expect([after.code, after.stderr]).toEqual([1, `error: no imslab serve is running with data dir ${data}\n`]);
  }, 120_000);
});
