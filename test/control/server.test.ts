import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlClient, ControlRequestError, ControlUnavailableError } from '../../src/control/client.js';
import { ControlCommands, type CxOutcome, type RegistrationsResult, type StatusResult } from '../../src/control/commands.js';
import { controlSocketPath, MAX_LINE_BYTES } from '../../src/control/protocol.js';
import { ControlServer, ControlSocketBusyError, probeControlSocket } from '../../src/control/server.js';
import type { HssNode } from '../../src/hss/hss-node.js';
import { parseTopology } from '../../src/topology/loader.js';
import { startTopology, type RunningTopology } from '../../src/topology/runner.js';
import { ALICE_IMPI, ALICE_IMPU, controlTopology, nextSent, tempDir } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(base: number) {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  const run = await startTopology(parseTopology(controlTopology(base)), { dataDir: dir.path });
  cleanups.push(() => run.stop());
  const commands = new ControlCommands(run);
  const server = await ControlServer.open({ path: controlSocketPath(dir.path), handle: (c, a) => commands.handle(c, a) });
  cleanups.push(() => server.close());
  const client = await ControlClient.connect(server.path);
  cleanups.push(() => client.close());
  return { dir: dir.path, run, server, client };
}

function sqnOf(run: RunningTopology): bigint {
  return run.node<HssNode>('hss1').store.get(ALICE_IMPI)!.sqn;
}

/** Raw bytes to the socket; resolves with every line the server wrote until it closes or `lines` arrived. */
function rawExchange(path: string, bytes: string | Buffer, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path });
    let text = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no ${lines} line(s) within 5 s; got ${JSON.stringify(text)}`));
    }, 5000);
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(text.split('\n').filter(Boolean));
    };
    s.on('data', (d) => {
      text += d.toString();
      if (text.split('\n').filter(Boolean).length >= lines) done();
    });
    s.on('close', done);
    s.on('error', () => undefined);
    s.write(bytes);
  });
}

describe('control channel of a running topology', () => {
  it('status, HSS-initiated RTR, stopping and restarting the HSS (504 while it is gone, SQN continues after)', async () => {
    const { run, client, dir } = await world(1);
    expect(statSync(controlSocketPath(dir)).mode & 0o777).toBe(0o600);

    const status = await client.request<StatusResult>('status');
    expect(status.topology).toBe('control-1');
    expect(status.nodes.map((n) => [n.name, n.kind, n.address, n.running])).toEqual([
      ['pcscf1', 'pcscf', '127.0.52.1', true],
      ['icscf1', 'icscf', '127.0.52.2', true],
      ['scscf1', 'scscf', '127.0.52.3', true],
      ['hss1', 'hss', '127.0.52.4', true],
    ]);
    expect(status.nodes.find((n) => n.name === 'hss1')!.ports).toEqual({ diameter: 23868 });
    expect(status.counters['pcscf1']!.transactions).toMatchObject({ serverTransactionsCreated: 0 });
    expect(status.counters['hss1']!.transactions).toBeUndefined();

    // Register alice through the core.
    const alice = run.ue('alice');
    await alice.register();
    const afterFirst = sqnOf(run);
    expect(afterFirst).toBeGreaterThan(0n);
    let regs = await client.request<RegistrationsResult>('registrations');
    expect(regs.scscf['scscf1']!.map((r) => r.impi)).toEqual([ALICE_IMPI]);
    expect(regs.pcscf['pcscf1']!.map((r) => r.impu)).toEqual([ALICE_IMPU]);
    const counted = await client.request<StatusResult>('status');
    expect(counted.counters['scscf1']!.registrations).toEqual({ subscriptions: 1, contacts: 1 });
    expect(counted.counters['hss1']!.registrations).toEqual({ subscriptions: 1, impus: 1 });
    expect(counted.counters['pcscf1']!.transport!.received.udp).toBeGreaterThan(0);
    expect(counted.counters['scscf1']!.diameter).toEqual({ connections: 1, open: 1 });

    // The HSS goes away: the I-CSCF cannot ask UAR for alice's re-registration and answers 504 (TS 24.229 §5.3.1.2).
    expect(await client.request('node.stop', { name: 'hss1' })).toEqual({ name: 'hss1', running: false });
    expect((await client.request<StatusResult>('status')).nodes.find((n) => n.name === 'hss1')!.running).toBe(false);
    await expect(client.request('node.stop', { name: 'hss1' })).rejects.toThrow('hss1 is not running');
    await expect(client.request('hss.push-profile', { impi: ALICE_IMPI })).rejects.toThrow('hss1 is not running');
    const refused = nextSent(run.bus, 'icscf1', /^SIP\/2\.0 504 /);
    await expect(alice.register()).rejects.toThrow(/504/);
    await refused;

    // Back again, from its SQLite store: alice registers, and her SQN went on from where it was.
    expect(await client.request('node.start', { name: 'hss1' })).toEqual({ name: 'hss1', running: true });
    await expect(client.request('node.start', { name: 'hss1' })).rejects.toThrow('hss1 is already running');
    expect(sqnOf(run)).toBe(afterFirst); // the new HssNode's store, reopened: not re-provisioned to 0
    await alice.register();
    expect(alice.state.state).toBe('registered');
    // A fresh registration takes a new vector from the restarted HSS: the SQN moves on from there.
    await alice.deregister();
    await alice.register();
    expect(sqnOf(run)).toBeGreaterThan(afterFirst);

    // PPR over the connection the S-CSCF re-opened.
    const ppa = await client.request<CxOutcome>('hss.push-profile', { impi: ALICE_IMPI });
    expect(ppa.resultCode).toBe(2001);

    // hss.deregister: RTR to scscf1, RTA 2001, the S-CSCF tells the UE with a terminated NOTIFY.
    const notify = nextSent(run.bus, 'scscf1', /^NOTIFY [\s\S]*Subscription-State: terminated/i);
    const rta = await client.request<CxOutcome>('hss.deregister', { target: ALICE_IMPU, reason: 'permanent' });
    expect(rta).toEqual({ hss: 'hss1', resultCode: 2001, result: 'DIAMETER_SUCCESS', success: true });
    await notify;
    regs = await client.request<RegistrationsResult>('registrations');
    expect(regs.scscf['scscf1']).toEqual([]);
    expect(run.node<HssNode>('hss1').store.getRegistration(ALICE_IMPU).state).toBe('NOT_REGISTERED');

    // A second RTR has nobody to go to: an error, in words.
    await expect(client.request('hss.deregister', { target: ALICE_IMPU })).rejects.toThrow(/not registered/);
  }, 60_000);

  it('answers garbage with an error line and keeps serving; unknown commands and bad arguments are named', async () => {
    const { client, server } = await world(21);
    const [notJson] = await rawExchange(server.path, 'garbage\n', 1);
    expect(JSON.parse(notJson!)).toMatchObject({ id: null, ok: false, error: expect.stringMatching(/^not JSON/) });
    const [unknown, badReason, noArgs] = await rawExchange(
      server.path,
      '{"id":5,"command":"reboot"}\n{"id":"x","command":"node.stop"}\n{"id":7,"command":"hss.deregister","args":{"target":"sip:a@b","reason":"bored"}}\n',
      3,
    ).then((ls) => ls.map((l) => JSON.parse(l) as { id: unknown; ok: boolean; error: string }).sort((a, b) => String(a.id).localeCompare(String(b.id))));
    expect(unknown).toMatchObject({ id: 5, ok: false, error: expect.stringContaining('unknown command "reboot"') });
    expect(badReason).toMatchObject({ id: 7, ok: false, error: expect.stringContaining('hss.deregister: reason') });
    expect(noArgs).toMatchObject({ id: 'x', ok: false, error: expect.stringContaining('node.stop: name') });
    // An endless line: refused, that client is disconnected.
    const [tooLong] = await rawExchange(server.path, Buffer.alloc(MAX_LINE_BYTES + 10, 'a'), 1);
    expect(JSON.parse(tooLong!)).toMatchObject({ ok: false, error: expect.stringContaining('longer than') });
    // A client that connects and resets in the middle of a line changes nothing either.
    const half = createConnection({ path: server.path });
    await new Promise((r) => half.once('connect', r));
    half.write('{"id":1,"comm');
    half.destroy();
    // The first client, connected all along, still gets answers.
    expect((await client.request<StatusResult>('status')).nodes).toHaveLength(4);
    await expect(client.request('node.stop', { name: 'nope' })).rejects.toThrow(ControlRequestError);
  }, 30_000);

  it('detects a live serve and replaces a stale socket left by a killed one; the socket goes on close', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const path = controlSocketPath(dir.path);
    expect(await probeControlSocket(path)).toBe('absent');
    await expect(ControlClient.connect(path)).rejects.toThrow(new ControlUnavailableError(`no imslab serve is running with data dir ${dir.path}`));

    // A process that listens on the path and dies by SIGKILL leaves the file behind.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(await probeControlSocket(path)).toBe('live');
    await expect(ControlServer.open({ path, handle: async () => 1 })).rejects.toThrow(ControlSocketBusyError);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(existsSync(path)).toBe(true);
    expect(await probeControlSocket(path)).toBe('stale');

    const server = await ControlServer.open({ path, handle: async (c, a) => ({ c, a }) });
    cleanups.push(() => server.close());
    const client = await ControlClient.connect(path);
    cleanups.push(() => client.close());
    expect(await client.request('echo', { n: 1 })).toEqual({ c: 'echo', a: { n: 1 } });
    await server.close();
    expect(existsSync(path)).toBe(false);

    // Not a socket at all: refused with the reason rather than deleted.
    writeFileSync(path, 'x');
    await expect(ControlServer.open({ path, handle: async () => 1 })).rejects.toThrow(/is not a socket/);
    expect(join(dir.path, 'control.sock')).toBe(path);
  }, 30_000);
});
