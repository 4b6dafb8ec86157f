import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSubscriberStore } from '../../src/hss/sqlite-store.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import { StoreError, type SubscriberStore } from '../../src/hss/store.js';
import type { Subscriber } from '../../src/hss/subscriber.js';
import { f2345 } from '../../src/aka/milenage.js';
import { CxClient, ServerAssignmentType } from '../../src/diameter/cx/index.js';
import { DiameterNode } from '../../src/diameter/node.js';
import { ResultCode } from '../../src/diameter/result-codes.js';
import { TraceBus } from '../../src/trace/events.js';
import { SystemClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OPC = Buffer.from('cd63cb71954a9f4e48a5994e37a02baf', 'hex');
const SCSCF = 'sip:scscf.ims.lab:6060';

const dirs: string[] = [];
const stores: SubscriberStore[] = [];
const children: ChildProcess[] = [];
const nodes: DiameterNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'imslab-hss-'));
  dirs.push(d);
  return d;
}

function open(dir: string, options: { groupCommit?: boolean } = {}): SqliteSubscriberStore {
  const s = new SqliteSubscriberStore(dir, options);
  stores.push(s);
  return s;
}

function alice(): Subscriber {
  return {
    impi: 'alice@ims.lab',
    impus: [
      { uri: 'sip:alice@ims.lab', barred: false },
      { uri: 'tel:+15550001', barred: true, serviceProfileId: 'tel' },
    ],
    authSchemes: ['AKAv1-MD5', 'SIP Digest'],
    k: Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex'),
    opc: Buffer.from('cd63cb71954a9f4e48a5994e37a02baf', 'hex'),
    amf: Buffer.from('8000', 'hex'),
    sqn: 0x20n,
    password: 'secret',
    allowedVisitedNetworks: ['visited.example'],
    capabilities: { mandatory: [1], optional: [2, 3] },
  };
}

describe.each([
  ['sqlite', () => open(tempDir())],
  ['sqlite with group commit', () => open(tempDir(), { groupCommit: true })],
  ['memory', () => new MemorySubscriberStore()],
] as const)('%s store', (_name, make) => {
  it('stores, finds by IMPU, lists and removes', () => {
    const s = make();
    s.put(alice());
    expect(s.get('alice@ims.lab')).toEqual(alice());
    expect(s.findImpiByImpu('SIP:alice@IMS.LAB')).toBe('alice@ims.lab');
    expect(s.findImpiByImpu('tel:+15550001')).toBe('alice@ims.lab');
    expect(s.findImpiByImpu('sip:bob@ims.lab')).toBeUndefined();
    expect(s.list().map((x) => x.impi)).toEqual(['alice@ims.lab']);
    s.setRegistrations([{ impu: 'sip:alice@ims.lab', state: 'REGISTERED', serverName: 'sip:scscf.ims.lab', authPending: false }]);
    expect(s.remove('alice@ims.lab')).toBe(true);
    expect(s.remove('alice@ims.lab')).toBe(false);
    expect(s.get('alice@ims.lab')).toBeUndefined();
    expect(s.findImpiByImpu('sip:alice@ims.lab')).toBeUndefined();
    expect(s.getRegistration('sip:alice@ims.lab').state).toBe('NOT_REGISTERED');
  });

  it('refuses an IMPU that belongs to another IMPI and changes nothing', () => {
    const s = make();
    s.put(alice());
    const bob: Subscriber = { ...alice(), impi: 'bob@ims.lab', impus: [{ uri: 'sip:bob@ims.lab', barred: false }, { uri: 'sip:alice@ims.lab', barred: false }] };
    expect(() => s.put(bob)).toThrow(StoreError);
    expect(s.get('bob@ims.lab')).toBeUndefined();
    expect(s.findImpiByImpu('sip:bob@ims.lab')).toBeUndefined();
  });

  it('rejects invalid subscribers', () => {
    const s = make();
    expect(() => s.put({ ...alice(), k: Buffer.alloc(15) })).toThrow(/k: must be 16 octets/);
    expect(() => s.put({ ...alice(), impus: [{ uri: 'alice', barred: false }] })).toThrow(/impu/);
    expect(s.list()).toEqual([]);
  });

  it('advances the SQN atomically and sets it on resync', () => {
    const s = make();
    s.put(alice());
    expect(s.nextSqn('alice@ims.lab', (q) => q + 32n)).toBe(0x40n);
    expect(s.nextSqn('alice@ims.lab', (q) => q + 32n)).toBe(0x60n);
    s.setSqn('alice@ims.lab', 0x1234n);
    expect(s.get('alice@ims.lab')!.sqn).toBe(0x1234n);
    expect(() => s.nextSqn('nobody@ims.lab', (q) => q + 1n)).toThrow(StoreError);
    expect(() => s.nextSqn('alice@ims.lab', () => 1n << 48n)).toThrow(/48 bits/);
    expect(s.get('alice@ims.lab')!.sqn).toBe(0x1234n);
  });

  it('rolls a failed transaction back entirely', () => {
    const s = make();
    s.put(alice());
    expect(() =>
      s.transaction((tx) => {
        tx.put({ ...alice(), impi: 'carol@ims.lab', impus: [{ uri: 'sip:carol@ims.lab', barred: false }] });
        tx.setSqn('alice@ims.lab', 0x999n);
        tx.put({ ...alice(), impi: 'dave@ims.lab' }); // clashes on alice's IMPUs
      }),
    ).toThrow(StoreError);
    expect(s.get('carol@ims.lab')).toBeUndefined();
    expect(s.get('alice@ims.lab')!.sqn).toBe(0x20n);
  });

  it('keeps registration state per IMPU and drops it with the IMPU', () => {
    const s = make();
    s.put(alice());
    s.setRegistrations([
      { impu: 'sip:alice@ims.lab', state: 'REGISTERED', serverName: 'sip:scscf.ims.lab:6060', scscfHost: 'scscf.ims.lab', scscfRealm: 'ims.lab', authPending: false },
      { impu: 'tel:+15550001', state: 'REGISTERED', serverName: 'sip:scscf.ims.lab:6060', authPending: false },
    ]);
    expect(s.getRegistration('sip:alice@ims.lab')).toEqual({
      impu: 'sip:alice@ims.lab', state: 'REGISTERED', serverName: 'sip:scscf.ims.lab:6060', scscfHost: 'scscf.ims.lab', scscfRealm: 'ims.lab', authPending: false,
    });
    s.put({ ...alice(), impus: [{ uri: 'sip:alice@ims.lab', barred: false }] });
    expect(s.getRegistration('tel:+15550001').state).toBe('NOT_REGISTERED');
    expect(s.listRegistrations().map((r) => r.impu)).toEqual(['sip:alice@ims.lab']);
  });
});

describe('sqlite persistence', () => {
  it('reads through its cache yet sees, from the next loop turn, what another connection committed (a provisioning command beside serve)', async () => {
    const nextTurn = () => new Promise<void>((r) => setImmediate(r));
    const dir = tempDir();
    const core = open(dir, { groupCommit: true });
    core.put(alice());
    core.close();
    const serving = open(dir, { groupCommit: true });
    expect(serving.get('alice@ims.lab')!.password).toBe('secret'); // now cached
    expect(serving.getRegistration('sip:alice@ims.lab').state).toBe('NOT_REGISTERED');
    const cli = open(dir);
    cli.put({ ...alice(), password: 'changed' });
    cli.setRegistrations([{ impu: 'sip:alice@ims.lab', state: 'REGISTERED', serverName: SCSCF, authPending: false }]);
    // Within a turn the store answers from one state; the other process's commit shows from the next turn.
    expect(serving.get('alice@ims.lab')!.password).toBe('secret');
    await nextTurn();
    expect(serving.get('alice@ims.lab')!.password).toBe('changed');
    expect(serving.getRegistration('sip:alice@ims.lab').state).toBe('REGISTERED');
    expect(cli.remove('alice@ims.lab')).toBe(true);
    await nextTurn();
    expect(serving.get('alice@ims.lab')).toBeUndefined();
    expect(serving.findImpiByImpu('sip:alice@ims.lab')).toBeUndefined();
    expect(serving.getRegistration('sip:alice@ims.lab').state).toBe('NOT_REGISTERED');
  });

  it('reads back its own writes from its cache exactly as a fresh connection reads them from the file', async () => {
    const nextTurn = () => new Promise<void>((r) => setImmediate(r));
    for (const groupCommit of [false, true]) {
      const dir = tempDir();
      const s = open(dir, { groupCommit });
      s.put(alice());
      expect(s.getRegistration('sip:alice@ims.lab').state).toBe('NOT_REGISTERED'); // cached before the writes
      s.setRegistrations([
        { impu: 'SIP:alice@IMS.LAB', state: 'UNREGISTERED', serverName: SCSCF, scscfHost: 'scscf.ims.lab', scscfRealm: 'ims.lab', authPending: true },
        { impu: 'tel:+15550001', state: 'REGISTERED', serverName: SCSCF, authPending: false },
      ]);
      s.setRegistrations([{ impu: 'tel:+15550001', state: 'NOT_REGISTERED', authPending: false }]);
      s.putScscf({ serverName: 'sip:b.ims.lab', capabilities: [2] });
      expect(s.listScscfs()).toEqual([{ serverName: 'sip:b.ims.lab', capabilities: [2] }]);
      s.putScscf({ serverName: 'sip:a.ims.lab', capabilities: [1] });
      expect(s.removeScscf('sip:b.ims.lab')).toBe(true);
      await s.flush();
      const fresh = open(dir);
      for (const impu of ['sip:alice@ims.lab', 'tel:+15550001']) expect(s.getRegistration(impu)).toEqual(fresh.getRegistration(impu));
      expect(s.getRegistration('sip:alice@ims.lab')).toEqual({
        impu: 'sip:alice@ims.lab', state: 'UNREGISTERED', serverName: SCSCF, scscfHost: 'scscf.ims.lab', scscfRealm: 'ims.lab', authPending: true,
      });
      expect(s.getRegistration('tel:+15550001')).toEqual({ impu: 'tel:+15550001', state: 'NOT_REGISTERED', authPending: false });
      expect(s.listScscfs()).toEqual([{ serverName: 'sip:a.ims.lab', capabilities: [1] }]);
      expect(s.listScscfs()).toEqual(fresh.listScscfs());
      // The S-CSCF table is cached too, and another connection's change to it shows from the next turn.
      fresh.putScscf({ serverName: 'sip:c.ims.lab', capabilities: [3] });
      await nextTurn();
      expect(s.listScscfs().map((c) => c.serverName)).toEqual(['sip:a.ims.lab', 'sip:c.ims.lab']);
    }
  });

  it('hands out frozen entries and keeps them true to its own writes and rollbacks', () => {
    const s = open(tempDir(), { groupCommit: true });
    s.put(alice());
    const first = s.get('alice@ims.lab')!;
    expect(Object.isFrozen(first) && Object.isFrozen(first.impus[0])).toBe(true);
    expect(s.nextSqn('alice@ims.lab', (q) => q + 32n)).toBe(0x40n);
    expect(s.get('alice@ims.lab')!.sqn).toBe(0x40n);
    s.setRegistrations([{ impu: 'sip:alice@ims.lab', state: 'REGISTERED', serverName: SCSCF, authPending: false }]);
    expect(s.getRegistration('sip:alice@ims.lab').state).toBe('REGISTERED');
    expect(() =>
      s.transaction((tx) => {
        tx.setRegistrations([{ impu: 'sip:alice@ims.lab', state: 'NOT_REGISTERED', authPending: false }]);
        expect(tx.getRegistration('sip:alice@ims.lab').state).toBe('NOT_REGISTERED'); // read, and cached, inside
        tx.setSqn('alice@ims.lab', 0x999n);
        expect(tx.get('alice@ims.lab')!.sqn).toBe(0x999n);
        throw new StoreError('give up');
      }),
    ).toThrow('give up');
    expect(s.getRegistration('sip:alice@ims.lab').state).toBe('REGISTERED');
    expect(s.get('alice@ims.lab')!.sqn).toBe(0x40n);
  });

  it('write, close, reopen: same subscribers, SQN, registrations and S-CSCF table', () => {
    const dir = tempDir();
    const a = open(dir);
    a.put(alice());
    a.nextSqn('alice@ims.lab', (q) => q + 32n);
    a.setRegistrations([{ impu: 'sip:alice@ims.lab', state: 'UNREGISTERED', serverName: 'sip:scscf.ims.lab', authPending: true }]);
    a.putScscf({ serverName: 'sip:scscf.ims.lab', capabilities: [1, 2] });
    a.close();
    const b = open(dir);
    expect(b.get('alice@ims.lab')).toEqual({ ...alice(), sqn: 0x40n });
    expect(b.getRegistration('sip:alice@ims.lab')).toEqual({ impu: 'sip:alice@ims.lab', state: 'UNREGISTERED', serverName: 'sip:scscf.ims.lab', authPending: true });
    expect(b.listScscfs()).toEqual([{ serverName: 'sip:scscf.ims.lab', capabilities: [1, 2] }]);
    expect(() => b.putScscf({ serverName: 'scscf', capabilities: [] })).toThrow(StoreError);
  });

  it('keeps an SQN increment answered just before a SIGKILL', async () => {
    const dir = tempDir();
    const a = open(dir);
    a.put(alice());
    a.close();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/sqn-child.ts'), dir, 'alice@ims.lab', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const answered = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`child did not answer: ${stderr}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /answered ([0-9a-f]+)\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on('exit', () => reject(new Error(`child exited early: ${stderr}`)));
    });
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    expect(answered).toBe((0x20 + 5 * 32).toString(16));
    const b = open(dir);
    expect(b.get('alice@ims.lab')!.sqn).toBe(BigInt('0x' + answered));
  });

  it('with group commit, every MAA and SAA received before a SIGKILL has its SQN and registration on disk', async () => {
    const dir = tempDir();
    const a = open(dir);
    const subscribers = [0, 1, 2, 3].map((i) => ({
      ...alice(), impi: `u${i}@ims.lab`, impus: [{ uri: `sip:u${i}@ims.lab`, barred: false }], authSchemes: ['AKAv1-MD5' as const],
      k: K, opc: OPC, sqn: 0x20n, allowedVisitedNetworks: [],
    }));
    for (const s of subscribers) a.put(s);
    a.close();
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/hss-child.ts'), dir, '127.0.44.21'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`HSS child did not listen: ${stderr}`)), 15_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\d+)\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on('exit', () => reject(new Error(`HSS child exited early: ${stderr}`)));
    });
    const clock = new SystemClock();
    const scscf = new DiameterNode({ name: 'scscf', originHost: 'scscf.ims.lab', originRealm: 'ims.lab', address: '127.0.44.22', port: 0, clock, random: new SeededRandom(1), trace: new TraceBus(clock) });
    nodes.push(scscf);
    const cx = new CxClient(scscf, await scscf.connect('127.0.44.21', port));
    // Pipelined, so that several land in one batch: 5 rounds of one MAR per subscriber, then an SAR each.
    const sqns = new Map<string, bigint>();
    for (let round = 0; round < 5; round++) {
      const maas = await Promise.all(subscribers.map((s) => cx.mar({
        userName: s.impi, publicIdentity: s.impus[0]!.uri, serverName: SCSCF, sipNumberAuthItems: 2,
        sipAuthDataItem: { authenticationScheme: 'Digest-AKAv1-MD5' },
      })));
      maas.forEach((maa, i) => {
        expect(maa.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
        for (const item of maa.sipAuthDataItems) {
          const sqn = sqnOf(item.authenticate!);
          const impi = subscribers[i]!.impi;
          if (sqn > (sqns.get(impi) ?? 0n)) sqns.set(impi, sqn);
        }
      });
    }
    const saas = await Promise.all(subscribers.slice(0, 2).map((s) => cx.sar({
      userName: s.impi, publicIdentities: [s.impus[0]!.uri], serverName: SCSCF, serverAssignmentType: ServerAssignmentType.REGISTRATION, userDataAlreadyAvailable: 0,
    })));
    for (const saa of saas) expect(saa.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
    // Killed right after the last answer arrived: no clean close, no commit at exit.
    child.kill('SIGKILL');
    await exited;
    const b = open(dir);
    for (const s of subscribers) expect(b.get(s.impi)!.sqn, s.impi).toBe(sqns.get(s.impi));
    expect(b.getRegistration('sip:u0@ims.lab')).toMatchObject({ state: 'REGISTERED', serverName: SCSCF, authPending: false });
    expect(b.getRegistration('sip:u1@ims.lab')).toMatchObject({ state: 'REGISTERED', serverName: SCSCF, authPending: false });
    expect(b.getRegistration('sip:u2@ims.lab')).toMatchObject({ state: 'NOT_REGISTERED', serverName: SCSCF, authPending: true });
  });
});

/** The SQN an AKA vector carries: AUTN starts with SQN ⊕ AK, AK = f5(RAND) (TS 33.102 §6.3.2). */
function sqnOf(randAutn: Buffer): bigint {
  const rand = randAutn.subarray(0, 16);
  const concealed = randAutn.subarray(16, 22);
  const ak = f2345(K, OPC, rand).ak;
  const sqn = Buffer.alloc(6);
  for (let i = 0; i < 6; i++) sqn[i] = concealed[i]! ^ ak[i]!;
  return BigInt('0x' + sqn.toString('hex'));
}
