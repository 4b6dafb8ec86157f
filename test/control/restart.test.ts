import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { HssNode } from '../../src/hss/hss-node.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology } from '../../src/topology/runner.js';
import { runScenario } from '../../src/topology/scenario.js';
import { ALICE_IMPI, ALICE_IMPU, controlTopology, DOMAIN, tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A bare UDP socket that sends a REGISTER to the I-CSCF as a P-CSCF would, and reads the final answer. */
async function registerVia(icscf: string, from: string, branch: string): Promise<string> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, from, () => r()));
  try {
    const port = socket.address().port;
    const text =
      `REGISTER sip:${DOMAIN} SIP/2.0\r\nVia: SIP/2.0/UDP ${from}:${port};branch=z9hG4bK${branch}\r\nMax-Forwards: 69\r\n` +
      `From: <${ALICE_IMPU}>;tag=${branch}\r\nTo: <${ALICE_IMPU}>\r\nCall-ID: ${branch}@${from}\r\nCSeq: 1 REGISTER\r\n` +
      `Contact: <sip:alice@${from}:${port}>;expires=600\r\nAuthorization: Digest username="${ALICE_IMPI}", realm="${DOMAIN}", ` +
      `uri="sip:${DOMAIN}", nonce="", response=""\r\nPath: <sip:term@${from}:${port};lr>\r\nSupported: path\r\n` +
      `P-Visited-Network-ID: "${DOMAIN}"\r\nContent-Length: 0\r\n\r\n`;
    const final = new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no final response within 10 s')), 10_000);
      socket.on('message', (m) => {
        const s = m.toString('latin1');
        if (/^SIP\/2\.0 [2-6]\d\d /.test(s)) {
          clearTimeout(t);
          resolve(s);
        }
      });
    });
    socket.send(text, 25060, icscf);
    return await final;
  } finally {
    socket.close();
  }
}

describe('a network function stopped and started in a running topology', () => {
  it('while the S-CSCF is gone the I-CSCF answers 408 when its Timer F fires; after start the S-CSCF challenges again', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    // T1 = 10 ms: Timer F (64·T1, RFC 3261 §17.1.2.2) fires after 640 ms.
    const run = await startTopology(parseTopology(controlTopology(41, 'timers: { T1: 10, T2: 40, T4: 50 }')), { dataDir: dir.path, ues: false });
    cleanups.push(() => run.stop());
    const pcscf = '127.0.52.41';
    const icscf = '127.0.52.42';
    expect(await registerVia(icscf, pcscf, 'a1')).toMatch(/^SIP\/2\.0 401 /);

    await run.stopNode('scscf1');
    expect(run.stoppedNodes).toEqual(['scscf1']);
    const started = Date.now();
    expect(await registerVia(icscf, pcscf, 'a2')).toMatch(/^SIP\/2\.0 408 /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);

    await run.startNode('scscf1');
    expect(run.stoppedNodes).toEqual([]);
    expect(await registerVia(icscf, pcscf, 'a3')).toMatch(/^SIP\/2\.0 401 /);
  }, 30_000);

  it('scenario steps stop/start/restart: registration fails while the HSS is stopped and works after, with the SQN kept', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const topology = parseTopology(
      controlTopology(
        61,
        `scenarios:
  first:
    - register: alice
    - deregister: alice
    - restart: hss1
  second:
    - register: alice
    - deregister: alice
    - stop: hss1
    - register: alice
  recover:
    - start: hss1
    - register: alice
    - expect: { registered: [alice] }`,
      ),
    );
    const run = await startTopology(topology, { dataDir: dir.path });
    cleanups.push(() => run.stop());
    const sqn = () => run.node<HssNode>('hss1').store.get(ALICE_IMPI)!.sqn;
    const play = (name: string) => runScenario(run, name, topology.scenarios[name]!);

    const first = await play('first');
    expect(first.steps.map((s) => [s.label, s.ok])).toEqual([
      ['register alice', true],
      ['deregister alice', true],
      ['restart hss1', true],
    ]);
    const afterRestart = sqn();
    expect(afterRestart).toBeGreaterThan(0n);

    const second = await play('second');
    expect(second.steps.map((s) => [s.label, s.ok])).toEqual([
      ['register alice', true],
      ['deregister alice', true],
      ['stop hss1', true],
      ['register alice', false],
    ]);
    expect(second.steps[3]!.reason).toMatch(/^504 /);
    expect((await play('recover')).ok).toBe(true);
    // The restarted HSS went on from its stored SQN (TS 33.102 §6.3.2: it only moves forward).
    expect(sqn()).toBeGreaterThan(afterRestart);
  }, 30_000);

  it('a step naming an unknown node is refused when the topology loads', () => {
    expect(() => parseTopology(controlTopology(1, 'scenarios:\n  x:\n    - restart: hss9'))).toThrow(/scenarios\.x\[0\]\.restart: unknown node "hss9"/);
  });
});
