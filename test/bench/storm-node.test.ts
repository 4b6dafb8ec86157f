import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NODE_READY } from '../../src/cli/node.js';
import { writeStormTopology } from '../../bench/storm/topology.js';

const BIN = fileURLToPath(new URL('../../bin/imslab.mjs', import.meta.url));
// Ports of their own, so that a bench run on the same machine cannot collide with this test.
const storm = writeStormTopology({ subscribers: 2, network: { prefix: '127.0.60', sipPort: 27160, diameterPort: 27161, coreTransport: 'udp' } });
afterAll(() => rmSync(storm.dir, { recursive: true, force: true }));

const children: ChildProcess[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of sockets.splice(0)) s.close();
});

function startNode(...args: string[]): { child: ChildProcess; ready: Promise<string>; exited: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, 'node', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stderr: err })));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith(NODE_READY));
      if (line) resolve(line);
    });
    void exited.then(({ code, stderr }) => reject(new Error(`exited with ${code} before ready: ${stderr}`)));
  });
  // A test that expects the exit never awaits `ready`: its rejection is not an error of the run.
  ready.catch(() => undefined);
  return { child, ready, exited };
}

/** An OPTIONS from a bare UDP socket; resolves with the first datagram that comes back. */
function options(address: string, port: number): Promise<{ text: string; from: string }> {
  const s = createSocket('udp4');
  sockets.push(s);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.once('message', (m, rinfo) => resolve({ text: m.toString('utf8'), from: `${rinfo.address}:${rinfo.port}` }));
    s.bind(0, '127.0.0.1', () => {
      const local = s.address();
      const msg = [
        `OPTIONS sip:${address}:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local.port};branch=z9hG4bKstormnode1`,
        'Max-Forwards: 70',
        `From: <sip:tester@127.0.0.1>;tag=t1`,
        `To: <sip:${address}:${port}>`,
        'Call-ID: storm-node-test',
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      s.send(msg, port, address);
    });
  });
}

describe('imslab node --topology FILE --name NODE', () => {
  it('runs one network function alone, answers SIP on its own address, and stops with exit 0 on SIGTERM', { timeout: 40_000 }, async () => {
    const { child, ready, exited } = startNode('--topology', storm.file, '--name', 'scscf1', '--data', storm.dataDir);
    const line = await ready;
    expect(line).toMatch(/scscf1 \(scscf\) on 127\.0\.60\.3 udp\/27160/);
    const answer = await options('127.0.60.3', 27160);
    expect(answer.from).toBe('127.0.60.3:27160');
    expect(answer.text).toMatch(/^SIP\/2\.0 \d{3} /);
    expect(answer.text).toMatch(/branch=z9hG4bKstormnode1/);
    // Only the named function runs: the P-CSCF of the same topology is not there.
    expect(line).not.toMatch(/pcscf/);
    child.kill('SIGTERM');
    const { code } = await exited;
    expect(code).toBe(0);
    // Its socket is released: the address and port can be bound again.
    const again = createSocket('udp4');
    sockets.push(again);
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(27160, '127.0.60.3', () => resolve());
    });
  });

  it('a name the topology does not have exits 2 and names the functions it has', { timeout: 30_000 }, async () => {
    const { exited } = startNode('--topology', storm.file, '--name', 'nosuch');
    const { code, stderr } = await exited;
    expect(code).toBe(2);
    expect(stderr).toMatch(/no network function named "nosuch".*pcscf1, icscf1, scscf1, hss1/);
  });
});
