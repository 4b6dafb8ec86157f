import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { f2345 } from '../../src/aka/milenage.js';
import { MultimediaAuthAnswer, MultimediaAuthRequest } from '../../src/diameter/cx/index.js';
import { ResultCode } from '../../src/diameter/result-codes.js';
import { HssCxServer } from '../../src/hss/cx-server.js';
import { GroupCommit } from '../../src/util/group-commit.js';
import { MemorySubscriberStore } from '../../src/hss/memory-store.js';
import { SqliteSubscriberStore } from '../../src/hss/sqlite-store.js';
import { StoreError } from '../../src/hss/store.js';
import type { Subscriber } from '../../src/hss/subscriber.js';
import { TraceBus } from '../../src/trace/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

const K = Buffer.from('465b5ce8b199b49faa5f0a2ee238a6bc', 'hex');
const OPC = Buffer.from('cd63cb71954a9f4e48a5994e37a02baf', 'hex');
const SCSCF = 'sip:scscf.ims.lab:6060';

const dirs: string[] = [];
const closers: Array<{ close(): void }> = [];
afterEach(() => {
  for (const c of closers.splice(0).reverse()) c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'imslab-gc-'));
  dirs.push(d);
  return d;
}

function opened<T extends { close(): void }>(x: T): T {
  closers.push(x);
  return x;
}

function user(i: number): Subscriber {
  return {
    impi: `u${i}@ims.lab`, impus: [{ uri: `sip:u${i}@ims.lab`, barred: false }], authSchemes: ['AKAv1-MD5'],
    k: K, opc: OPC, amf: Buffer.from('8000', 'hex'), sqn: 0x20n, allowedVisitedNetworks: [],
  };
}

/** What another process would read: a second connection sees committed data only. */
function reader(dir: string): SqliteSubscriberStore {
  return opened(new SqliteSubscriberStore(dir));
}

function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

describe('SqliteSubscriberStore with group commit', () => {
  it('commits the writes of one event-loop turn once, and only then does flush() resolve', async () => {
    const dir = tempDir();
    const store = opened(new SqliteSubscriberStore(dir, { groupCommit: true }));
    const other = reader(dir);
    for (let i = 0; i < 5; i++) store.put(user(i));
    store.setRegistrations([{ impu: 'sip:u0@ims.lab', state: 'REGISTERED', serverName: SCSCF, authPending: false }]);
    const sqn = store.nextSqn('u1@ims.lab', (q) => q + 32n);
    // Same connection: the batch is visible to the requests that follow in it; to nobody else yet.
    expect(store.get('u4@ims.lab')?.impi).toBe('u4@ims.lab');
    expect(other.get('u0@ims.lab')).toBeUndefined();
    const flushed = store.flush();
    expect(store.groupCommit!.commits).toBe(0);
    await flushed;
    expect(store.groupCommit!.commits).toBe(1);
    expect(other.list().map((s) => s.impi)).toEqual(['u0@ims.lab', 'u1@ims.lab', 'u2@ims.lab', 'u3@ims.lab', 'u4@ims.lab']);
    expect(other.get('u1@ims.lab')!.sqn).toBe(sqn);
    expect(other.getRegistration('sip:u0@ims.lab').state).toBe('REGISTERED');
    // Nothing written since: flush resolves at once, no empty commit.
    await store.flush();
    await turn();
    expect(store.groupCommit!.commits).toBe(1);
  });

  it('a write that fails inside a batch rolls back its own changes only', async () => {
    const dir = tempDir();
    const store = opened(new SqliteSubscriberStore(dir, { groupCommit: true }));
    store.put(user(0));
    const thief = { ...user(1), impus: [{ uri: 'sip:u1@ims.lab', barred: false }, { uri: 'sip:u0@ims.lab', barred: false }] };
    expect(() => store.put(thief)).toThrow(StoreError);
    expect(() => store.nextSqn('nobody@ims.lab', (q) => q + 1n)).toThrow(StoreError);
    store.put(user(2));
    await store.flush();
    const other = reader(dir);
    expect(other.list().map((s) => s.impi)).toEqual(['u0@ims.lab', 'u2@ims.lab']);
    expect(other.findImpiByImpu('sip:u1@ims.lab')).toBeUndefined();
  });

  it('reads a turn in one read transaction that commits and syncs nothing, and a write after it still gets the write lock when another process committed meanwhile', async () => {
    const dir = tempDir();
    const store = opened(new SqliteSubscriberStore(dir, { groupCommit: true }));
    store.put({ ...user(0), password: 'old' });
    await store.flush();
    await turn();
    const gc = store.groupCommit!;
    const before = { commits: gc.commits, syncs: gc.syncs };
    // A turn that only reads: its answer need not wait for anything, and nothing is committed or synced.
    expect(store.get('u0@ims.lab')!.password).toBe('old');
    expect(store.getRegistration('sip:u0@ims.lab').state).toBe('NOT_REGISTERED');
    let flushed = false;
    void store.flush().then(() => (flushed = true));
    await Promise.resolve();
    expect(flushed).toBe(true);
    await turn();
    expect({ commits: gc.commits, syncs: gc.syncs }).toEqual(before);

    // Next turn: read (a snapshot), then another process commits, then this turn writes. A read transaction
    // cannot simply become a write transaction over a stale snapshot (SQLITE_BUSY_SNAPSHOT); the write must
    // still land, and what the other process wrote must show from then on.
    expect(store.get('u0@ims.lab')!.password).toBe('old');
    const cli = reader(dir);
    cli.put({ ...user(0), password: 'new' });
    store.setRegistrations([{ impu: 'sip:u0@ims.lab', state: 'REGISTERED', serverName: SCSCF, authPending: false }]);
    expect(store.get('u0@ims.lab')!.password).toBe('new');
    await store.flush();
    expect(gc.commits).toBe(before.commits + 1);
    expect(reader(dir).getRegistration('sip:u0@ims.lab').state).toBe('REGISTERED');
  });

  it('close() commits a batch that is still open', () => {
    const dir = tempDir();
    const store = new SqliteSubscriberStore(dir, { groupCommit: true });
    store.put(user(3));
    store.close();
    expect(reader(dir).get('u3@ims.lab')?.impi).toBe('u3@ims.lab');
  });
});

describe('GroupCommit', () => {
  it('a batch whose commit fails rejects every flush, leaves nothing behind, and the next batch works', async () => {
    const db = opened(new Database(join(tempDir(), 'gc.sqlite')));
    db.pragma('foreign_keys = ON');
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);`);
    let rollbacks = 0;
    const gc = new GroupCommit(db, () => rollbacks++);
    gc.join();
    db.prepare('INSERT INTO parent (id) VALUES (1)').run();
    // Checked at COMMIT only (deferred constraint): the commit itself fails.
    db.prepare('INSERT INTO child (id, parent) VALUES (1, 99)').run();
    const results = await Promise.allSettled([gc.flush(), gc.flush()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(db.inTransaction).toBe(false);
    expect(rollbacks).toBe(1);
    expect(db.prepare('SELECT count(*) AS n FROM parent').get()).toEqual({ n: 0 });
    gc.join();
    db.prepare('INSERT INTO parent (id) VALUES (2)').run();
    await gc.flush();
    expect(gc.commits).toBe(1);
    expect(db.prepare('SELECT id FROM parent').all()).toEqual([{ id: 2 }]);
  });
});

describe('GroupCommit in WAL mode', () => {
  function walDb(): Database.Database {
    const db = opened(new Database(join(tempDir(), 'wal.sqlite')));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    return db;
  }

  it('commits with synchronous = NORMAL and resolves flush() only when the WAL sync off the loop calls back', async () => {
    const db = walDb();
    const held: Array<{ fd: number; done: (e: Error | null) => void }> = [];
    const gc = new GroupCommit(db, { dataSync: (fd, done) => held.push({ fd, done }) });
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    gc.join();
    db.prepare('INSERT INTO t (id) VALUES (1)').run();
    let flushed = false;
    const first = gc.flush().then(() => (flushed = true));
    await turn();
    // Committed (another connection reads it), but the disk has not confirmed it: no answer may leave yet.
    expect(gc.commits).toBe(1);
    expect(held).toHaveLength(1);
    expect(opened(new Database(db.name, { readonly: true })).prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    // The loop is free meanwhile: the next batch is gathered while the first sync is held — and stays open, over
    // as many turns as the sync takes, since its writes could not reach the disk before that sync returns.
    gc.join();
    db.prepare('INSERT INTO t (id) VALUES (2)').run();
    const second = gc.flush();
    await turn();
    gc.join();
    db.prepare('INSERT INTO t (id) VALUES (3)').run();
    const third = gc.flush();
    await turn();
    expect(gc.commits).toBe(1);
    expect(held).toHaveLength(1);
    // Another connection still sees only the first batch; the writer's own requests see all of theirs.
    expect(opened(new Database(db.name, { readonly: true })).prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 3 });
    let laterFlushed = false;
    void Promise.all([second, third]).then(() => (laterFlushed = true));
    await turn();
    expect(flushed).toBe(false);
    // The first sync returns: its batch is answered, and the held batch commits at once, in one COMMIT, and syncs.
    held[0]!.done(null);
    await first;
    expect(flushed).toBe(true);
    expect(gc.commits).toBe(2);
    expect(held).toHaveLength(2);
    expect(opened(new Database(db.name, { readonly: true })).prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 3 });
    await turn();
    expect(laterFlushed).toBe(false);
    // A flush with nothing open waits for the sync that covers the last commit, not for nothing.
    let idleFlushed = false;
    void gc.flush().then(() => (idleFlushed = true));
    await turn();
    expect(idleFlushed).toBe(false);
    held[1]!.done(null);
    await Promise.all([second, third]);
    await turn();
    expect(idleFlushed).toBe(true);
    expect(gc.syncs).toBe(2);
  });

  it('rejects the batch whose WAL sync failed, and later batches still commit', async () => {
    const db = walDb();
    let fail = true;
    const gc = new GroupCommit(db, { dataSync: (_fd, done) => setImmediate(() => done(fail ? new Error('EIO: i/o error, fdatasync') : null)) });
    gc.join();
    db.prepare('INSERT INTO t (id) VALUES (1)').run();
    await expect(gc.flush()).rejects.toThrow(/EIO/);
    fail = false;
    gc.join();
    db.prepare('INSERT INTO t (id) VALUES (2)').run();
    await gc.flush();
    expect(gc.syncs).toBe(1);
  });

  it('syncs the real WAL file on the thread pool, and close() commits and syncs what is still open', async () => {
    const db = walDb();
    const gc = new GroupCommit(db);
    gc.join();
    db.prepare('INSERT INTO t (id) VALUES (1)').run();
    await gc.flush();
    expect(gc.syncs).toBe(1);
    gc.join();
    db.prepare('INSERT INTO t (id) VALUES (2)').run();
    const pending = gc.flush();
    gc.close();
    await pending;
    expect(gc.commits).toBe(2);
    expect(opened(new Database(db.name, { readonly: true })).prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2 });
  });
});

describe('HssCxServer.answer', () => {
  const clock = new FakeClock();
  const mar = (impi: string, n: number) => {
    const req = MultimediaAuthRequest.encode({
      sessionId: `scscf.ims.lab;1;${n}`, originHost: 'scscf.ims.lab', originRealm: 'ims.lab', destinationRealm: 'ims.lab',
      userName: impi, publicIdentity: `sip:${impi}`, serverName: SCSCF, sipNumberAuthItems: 1,
      sipAuthDataItem: { authenticationScheme: 'Digest-AKAv1-MD5' },
    });
    req.hopByHop = n;
    req.endToEnd = n;
    return req;
  };

  it('sends no MAA before the SQN it carries is committed; requests of one turn share one commit', async () => {
    const dir = tempDir();
    const store = opened(new SqliteSubscriberStore(dir, { groupCommit: true }));
    for (let i = 0; i < 3; i++) store.put(user(i));
    await store.flush();
    const commitsBefore = store.groupCommit!.commits;
    const other = reader(dir);
    const hss = new HssCxServer({ store, random: new SeededRandom(3), trace: new TraceBus(clock) }, { name: 'hss', originHost: 'hss.ims.lab', originRealm: 'ims.lab' });
    const seenOnDisk: bigint[] = [];
    const answers = await Promise.all(
      [0, 1, 2].map((i) =>
        hss.answer(mar(`u${i}@ims.lab`, i)).then((ans) => {
          // The moment the answer may leave: another connection must already read the new SQN.
          seenOnDisk.push(other.get(`u${i}@ims.lab`)!.sqn);
          return ans;
        }),
      ),
    );
    expect(store.groupCommit!.commits).toBe(commitsBefore + 1);
    answers.forEach((ans, i) => {
      expect(ans.hopByHop).toBe(i);
      const maa = MultimediaAuthAnswer.decode(ans);
      expect(maa.resultCode).toBe(ResultCode.DIAMETER_SUCCESS);
      const randAutn = maa.sipAuthDataItems[0]!.authenticate!;
      const ak = f2345(K, OPC, randAutn.subarray(0, 16)).ak;
      const sqn = Buffer.from(randAutn.subarray(16, 22).map((b, j) => b ^ ak[j]!));
      expect(seenOnDisk[i]).toBe(BigInt('0x' + sqn.toString('hex')));
    });
  });

  it('answers DIAMETER_UNABLE_TO_COMPLY when the store cannot make the writes durable', async () => {
    class FailingStore extends MemorySubscriberStore {
      override flush(): Promise<void> {
        return Promise.reject(new Error('disk I/O error'));
      }
    }
    const store = new FailingStore();
    store.put(user(0));
    const hss = new HssCxServer({ store, random: new SeededRandom(3), trace: new TraceBus(clock) }, { name: 'hss', originHost: 'hss.ims.lab', originRealm: 'ims.lab' });
    const ans = await hss.answer(mar('u0@ims.lab', 9));
    expect(ans.hopByHop).toBe(9);
    const maa = MultimediaAuthAnswer.decode(ans);
    expect(maa.resultCode).toBe(ResultCode.DIAMETER_UNABLE_TO_COMPLY);
    expect(maa.sipAuthDataItems).toEqual([]);
  });
});
