import { execFile, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

/**
 * `imslab serve` and `imslab run` that cannot take their sockets (another serve of the same topology, or any
 * other program on the port) say so in one line and exit 1, with no stack trace and nothing left behind: the
 * process ends by itself (no socket or timer keeps it alive) and its control socket is gone. Child processes
 * on 127.0.56.50-59.
 */

const bin = join(import.meta.dirname, '../../bin/imslab.mjs');
const DOMAIN = 'ims.mnc056.mcc001.3gppnetwork.org';

const TOPOLOGY = `
name: startup-${process.pid}
domains: [${DOMAIN}]
nodes:
  - { name: pcscf1, kind: pcscf, address: 127.0.56.51, transports: { udp: 5060, tcp: 5060 }, icscf: icscf1, secAgree: false }
  - { name: icscf1, kind: icscf, address: 127.0.56.52, transports: { udp: 5060, tcp: 5060 }, hss: hss1, scscfs: [scscf1] }
  - { name: scscf1, kind: scscf, address: 127.0.56.53, transports: { udp: 5060, tcp: 5060 }, hss: hss1, capabilities: [0] }
  - { name: hss1, kind: hss, address: 127.0.56.54, transports: { diameter: 3868 } }
subscribers:
  - { impi: alice@${DOMAIN}, impus: ['sip:alice@${DOMAIN}'], auth: aka, k: 465b5ce8b199b49faa5f0a2ee238a6bc, op: cdc202d5123e20f62b6d676ac72cb318, amf: "8000", sqn: 0 }
ues:
  - { name: alice, subscriber: alice@${DOMAIN}, pcscf: pcscf1, address: 127.0.56.58, port: 5060, transport: udp }
scenarios:
  reg: [ { register: alice }, { deregister: alice } ]
`;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function imslab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Bounded: a child that does not end by itself within 30 s is killed and the test fails on its code.
    execFile(process.execPath, [bin, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

function files(): { topology: string; data: string } {
  const dir = tempDir('imsstart-');
  cleanups.push(() => dir.remove());
  const topology = join(dir.path, 'topology.yaml');
  writeFileSync(topology, TOPOLOGY);
  return { topology, data: join(dir.path, 'data') };
}

/** Holds a UDP port as another program would. */
async function holdUdp(address: string, port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r, j) => {
    socket.once('error', j);
    socket.bind({ address, port, exclusive: true }, () => r());
  });
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
}

/** Holds a TCP port as another program would (the HSS's Diameter port). */
async function holdTcp(address: string, port: number): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((r, j) => {
    server.once('error', j);
    server.listen({ host: address, port, exclusive: true }, () => r());
  });
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
}

/** Starts `imslab serve` and resolves once its banner is complete (bounded); stopped by SIGTERM in afterEach. */
async function serving(topology: string, data: string): Promise<void> {
  const child = spawn(process.execPath, [bin, 'serve', topology, '--no-ues', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not come up within 20 s: ${out}`)), 20_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ctrl-C stops the core.')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${out}`));
    });
  });
}

describe('start-up errors are one line, exit 1, nothing left behind', () => {
  it('a second serve of a running topology: one line naming the first taken port (another data directory) or the running serve (the same one)', async () => {
    const { topology, data } = files();
    await serving(topology, data);
    const other = await imslab(['serve', topology, '--no-ues', '--data', `${data}-second`]);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe('error: cannot listen on 127.0.56.54:3868 (address in use) — is another imslab serve running? (imslab ctl status)\n');
    expect(existsSync(join(`${data}-second`, 'control.sock'))).toBe(false);
    const same = await imslab(['serve', topology, '--no-ues', '--data', data]);
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/^error: an imslab serve is already running with this data directory \(.*control\.sock answers\) — stop it first, or see it with imslab ctl status\n$/);
    // The first serve is untouched: its control socket still answers.
    const status = await imslab(['ctl', 'status', '--data', data]);
    expect(status.code).toBe(0);
  }, 60_000);

  it('serve: the Diameter port of the HSS in use (what a second serve of the topology meets first)', async () => {
    const { topology, data } = files();
    await holdTcp('127.0.56.54', 3868);
    const r = await imslab(['serve', topology, '--no-ues', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: cannot listen on 127.0.56.54:3868 (address in use) — is another imslab serve running? (imslab ctl status)\n');
    expect(r.stdout).not.toContain('imslab serving');
    expect(existsSync(join(data, 'control.sock'))).toBe(false);
  }, 40_000);

  it('serve: the P-CSCF\'s port in use, after the HSS, S-CSCF and I-CSCF had started: they are stopped, the process ends', async () => {
    const { topology, data } = files();
    await holdUdp('127.0.56.51', 5060);
    const r = await imslab(['serve', topology, '--no-ues', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: cannot listen on 127.0.56.51:5060 (address in use) — is another imslab serve running? (imslab ctl status)\n');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(data, 'control.sock'))).toBe(false);
    // The nodes that had started let go of their ports: this process can take them now.
    await holdTcp('127.0.56.54', 3868);
    await holdUdp('127.0.56.53', 5060);
    await holdTcp('127.0.56.52', 5060);
  }, 40_000);

  it('run: the same one line and exit 1', async () => {
    const { topology, data } = files();
    await holdUdp('127.0.56.53', 5060);
    const r = await imslab(['run', topology, '--scenario', 'reg', '--ladder', 'none', '--data', data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('error: cannot listen on 127.0.56.53:5060 (address in use) — is another imslab serve running? (imslab ctl status)\n');
  }, 40_000);

  it('serve: an unreadable topology is its message and exit 2, as for run', async () => {
    const { data } = files();
    const r = await imslab(['serve', join(data, 'missing.yaml'), '--data', data]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.yaml.*no such file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 40_000);
});
