import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BoundedCache } from '../util/bounded-cache.js';
import { GroupCommit } from '../util/group-commit.js';
import { StoreError, type SubscriberStore } from './store.js';
import {
  normaliseImpu,
  notRegistered,
  validateSubscriber,
  type AuthScheme,
  type Registration,
  type RegistrationState,
  type ScscfCapabilities,
  type Subscriber,
} from './subscriber.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS subscriber (
  impi TEXT PRIMARY KEY,
  auth_schemes TEXT NOT NULL,
  k BLOB, op BLOB, opc BLOB,
  amf BLOB NOT NULL,
  sqn INTEGER NOT NULL,
  password TEXT,
  allowed_visited_networks TEXT NOT NULL,
  user_data TEXT,
  capabilities TEXT
);
CREATE TABLE IF NOT EXISTS public_identity (
  uri_key TEXT PRIMARY KEY,
  uri TEXT NOT NULL,
  impi TEXT NOT NULL REFERENCES subscriber(impi) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  barred INTEGER NOT NULL,
  service_profile_id TEXT
);
CREATE INDEX IF NOT EXISTS public_identity_impi ON public_identity(impi);
CREATE TABLE IF NOT EXISTS registration (
  impu TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  server_name TEXT,
  scscf_host TEXT,
  scscf_realm TEXT,
  auth_pending INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS scscf (
  server_name TEXT PRIMARY KEY,
  capabilities TEXT NOT NULL
);
`;

interface SubscriberRow {
  impi: string;
  auth_schemes: string;
  k: Buffer | null;
  op: Buffer | null;
  opc: Buffer | null;
  amf: Buffer;
  sqn: number;
  password: string | null;
  allowed_visited_networks: string;
  user_data: string | null;
  capabilities: string | null;
}

interface ImpuRow {
  uri_key: string;
  uri: string;
  impi: string;
  barred: number;
  service_profile_id: string | null;
}

interface RegistrationRow {
  impu: string;
  state: string;
  server_name: string | null;
  scscf_host: string | null;
  scscf_realm: string | null;
  auth_pending: number;
}

/**
 * The embedded subscriber store: one SQLite file, `<dataDir>/hss.sqlite`.
 *
 * Journal mode WAL with `synchronous = FULL` makes every commit reach the disk (fsync of the WAL) before the
 * call returns, so a process killed right after it answered an MAA or SAA still has the SQN and the S-CSCF
 * assignment that answer relied on (TS 33.102 §6.3.2: a SQN handed out must never be handed out again).
 *
 * With `groupCommit` (what the HSS node uses) writes are not committed per call but per event-loop turn, with
 * `synchronous = NORMAL` and the WAL synced on the libuv thread pool (group-commit.ts); they are durable when
 * `flush()` resolves, and the Cx server answers only then.
 */
export class SqliteSubscriberStore implements SubscriberStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmt;
  /** Set when writes are grouped per event-loop turn; undefined: each write commits before it returns. */
  readonly groupCommit: GroupCommit | undefined;
  /**
   * Read-through caches: a registration reads its subscription, owner and registration state a dozen times over
   * UAR, MAR, UAR and SAR within milliseconds. Entries are frozen (a caller cannot change what the next one
   * reads), writes go through to SQLite and then update or drop them, and any rollback empties them all.
   */
  private readonly subscribers = new BoundedCache<string, Subscriber>(CACHE_ENTRIES);
  private readonly owners = new BoundedCache<string, string>(CACHE_ENTRIES);
  private readonly registrations = new BoundedCache<string, Registration>(CACHE_ENTRIES);
  /** The S-CSCF capability table: a handful of rows every first UAR reads; undefined until read or after a write. */
  private scscfs: ScscfCapabilities[] | undefined;
  /** PRAGMA data_version: changes when another connection (`imslab hss add` while serve runs) commits. */
  private readonly dataVersion: Database.Statement<[], number>;
  private seenDataVersion = -1;
  /** Checked once per event-loop turn: a turn's reads see one state, as they would inside a transaction. */
  private versionChecked = false;
  /**
   * The transactions of the write methods, wrapped once: better-sqlite3 builds a wrapper function (and its
   * deferred/immediate/exclusive variants) on every `db.transaction()` call, which cost more than the
   * SAVEPOINT it runs.
   */
  private readonly tx;

  constructor(dataDir: string, options: { fileName?: string; groupCommit?: boolean } = {}) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, options.fileName ?? 'hss.sqlite');
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.groupCommit = options.groupCommit
      ? new GroupCommit(this.db, { onRollback: () => this.forgetCached(), onBegin: () => this.checkDataVersion() })
      : undefined;
    const db = this.db;
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
    this.stmt = {
      listSubscribers: db.prepare<[], SubscriberRow>('SELECT * FROM subscriber ORDER BY impi'),
      impusOf: db.prepare<[string], ImpuRow>('SELECT uri_key, uri, impi, barred, service_profile_id FROM public_identity WHERE impi = ? ORDER BY position'),
      // A subscription and its public identities in one statement (one read lock of the WAL instead of two).
      getSubscription: db.prepare<[string], SubscriberRow & Partial<ImpuRow>>(
        `SELECT s.*, p.uri_key, p.uri, p.barred, p.service_profile_id FROM subscriber s
         LEFT JOIN public_identity p ON p.impi = s.impi WHERE s.impi = ? ORDER BY p.position`,
      ),
      ownerOf: db.prepare<[string], { impi: string }>('SELECT impi FROM public_identity WHERE uri_key = ?'),
      upsertSubscriber: db.prepare(
        `INSERT INTO subscriber (impi, auth_schemes, k, op, opc, amf, sqn, password, allowed_visited_networks, user_data, capabilities)
         VALUES (@impi, @auth_schemes, @k, @op, @opc, @amf, @sqn, @password, @allowed_visited_networks, @user_data, @capabilities)
         ON CONFLICT(impi) DO UPDATE SET auth_schemes = excluded.auth_schemes, k = excluded.k, op = excluded.op, opc = excluded.opc,
           amf = excluded.amf, sqn = excluded.sqn, password = excluded.password,
           allowed_visited_networks = excluded.allowed_visited_networks, user_data = excluded.user_data,
           capabilities = excluded.capabilities`,
      ),
      deleteImpus: db.prepare<[string]>('DELETE FROM public_identity WHERE impi = ?'),
      insertImpu: db.prepare(
        'INSERT INTO public_identity (uri_key, uri, impi, position, barred, service_profile_id) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      deleteSubscriber: db.prepare<[string]>('DELETE FROM subscriber WHERE impi = ?'),
      getSqn: db.prepare<[string], { sqn: number }>('SELECT sqn FROM subscriber WHERE impi = ?'),
      setSqn: db.prepare<[number, string]>('UPDATE subscriber SET sqn = ? WHERE impi = ?'),
      getRegistration: db.prepare<[string], RegistrationRow>('SELECT * FROM registration WHERE impu = ?'),
      listRegistrations: db.prepare<[], RegistrationRow>('SELECT * FROM registration ORDER BY impu'),
      upsertRegistration: db.prepare(
        `INSERT INTO registration (impu, state, server_name, scscf_host, scscf_realm, auth_pending) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(impu) DO UPDATE SET state = excluded.state, server_name = excluded.server_name,
           scscf_host = excluded.scscf_host, scscf_realm = excluded.scscf_realm, auth_pending = excluded.auth_pending`,
      ),
      deleteRegistration: db.prepare<[string]>('DELETE FROM registration WHERE impu = ?'),
      listScscfs: db.prepare<[], { server_name: string; capabilities: string }>('SELECT * FROM scscf ORDER BY server_name'),
      upsertScscf: db.prepare<[string, string]>(
        'INSERT INTO scscf (server_name, capabilities) VALUES (?, ?) ON CONFLICT(server_name) DO UPDATE SET capabilities = excluded.capabilities',
      ),
      deleteScscf: db.prepare<[string]>('DELETE FROM scscf WHERE server_name = ?'),
    };
    this.tx = {
      put: db.transaction((s: Subscriber) => this.writeSubscriber(s)),
      remove: db.transaction((impi: string) => this.deleteSubscription(impi)),
      advanceSqn: db.transaction((impi: string, advance: (sqn: bigint) => bigint) => this.advanceSqn(impi, advance)),
      setRegistrations: db.transaction((registrations: Registration[]) => this.writeRegistrations(registrations)),
      run: db.transaction(<T>(fn: (store: SubscriberStore) => T): T => fn(this)),
    };
  }

  get(impi: string): Subscriber | undefined {
    this.revalidate();
    const cached = this.subscribers.get(impi);
    if (cached) return cached;
    const rows = this.stmt.getSubscription.all(impi);
    if (rows.length === 0) return undefined;
    const impus = rows[0]!.uri_key == null ? [] : (rows as ImpuRow[]);
    const s = freezeSubscriber(toSubscriber(rows[0]!, impus));
    this.subscribers.set(impi, s);
    // The owner of each of its identities is known now too: the IMPU check of the same request needs no read.
    for (const p of impus) this.owners.set(p.uri_key, impi);
    return s;
  }

  findImpiByImpu(impu: string): string | undefined {
    const key = normaliseImpu(impu);
    this.revalidate();
    const cached = this.owners.get(key);
    if (cached !== undefined) return cached;
    const impi = this.stmt.ownerOf.get(key)?.impi;
    if (impi !== undefined) this.owners.set(key, impi);
    return impi;
  }

  list(): Subscriber[] {
    return this.stmt.listSubscribers.all().map((r) => toSubscriber(r, this.stmt.impusOf.all(r.impi)));
  }

  put(s: Subscriber): void {
    validateSubscriber(s);
    this.groupCommit?.join();
    this.tx.put(s);
  }

  private writeSubscriber(s: Subscriber): void {
    for (const p of s.impus) {
      const owner = this.stmt.ownerOf.get(normaliseImpu(p.uri))?.impi;
      if (owner !== undefined && owner !== s.impi)
        throw new StoreError(`public identity ${p.uri} already belongs to ${owner}`);
    }
    const previous = this.stmt.impusOf.all(s.impi).map((r) => normaliseImpu(r.uri));
    this.stmt.upsertSubscriber.run({
      impi: s.impi,
      auth_schemes: JSON.stringify(s.authSchemes),
      k: s.k ?? null,
      op: s.op ?? null,
      opc: s.opc ?? null,
      amf: s.amf,
      sqn: Number(s.sqn),
      password: s.password ?? null,
      allowed_visited_networks: JSON.stringify(s.allowedVisitedNetworks),
      user_data: s.userData ?? null,
      capabilities: s.capabilities ? JSON.stringify(s.capabilities) : null,
    });
    this.stmt.deleteImpus.run(s.impi);
    const keep = new Set<string>();
    s.impus.forEach((p, i) => {
      const key = normaliseImpu(p.uri);
      keep.add(key);
      this.stmt.insertImpu.run(key, p.uri, s.impi, i, p.barred ? 1 : 0, p.serviceProfileId ?? null);
    });
    // An identity taken out of the subscription takes its registration state with it.
    for (const key of previous) if (!keep.has(key)) this.stmt.deleteRegistration.run(key);
    this.forgetSubscription(s.impi, [...previous, ...keep]);
  }

  remove(impi: string): boolean {
    this.groupCommit?.join();
    return this.tx.remove(impi);
  }

  private deleteSubscription(impi: string): boolean {
    const keys = this.stmt.impusOf.all(impi).map((p) => normaliseImpu(p.uri));
    for (const key of keys) this.stmt.deleteRegistration.run(key);
    this.forgetSubscription(impi, keys);
    return this.stmt.deleteSubscriber.run(impi).changes > 0;
  }

  nextSqn(impi: string, advance: (sqn: bigint) => bigint): bigint {
    let next: bigint;
    if (this.groupCommit) {
      // Inside the batch's BEGIN IMMEDIATE no other connection can write between the read and the UPDATE,
      // and nothing is written before every check has passed (the UPDATE is the last step and one
      // statement): no savepoint is needed for the method to be all-or-nothing.
      this.groupCommit.join();
      next = this.advanceSqn(impi, advance);
    } else {
      // IMMEDIATE: the write lock before the read, so two processes cannot hand out the same SQN.
      next = this.tx.advanceSqn.immediate(impi, advance);
    }
    this.cachedSqn(impi, next);
    return next;
  }

  private advanceSqn(impi: string, advance: (sqn: bigint) => bigint): bigint {
    const row = this.stmt.getSqn.get(impi);
    if (!row) throw new StoreError(`no subscriber ${impi}`);
    const n = advance(BigInt(row.sqn));
    checkSqn(n);
    this.stmt.setSqn.run(Number(n), impi);
    return n;
  }

  setSqn(impi: string, sqn: bigint): void {
    checkSqn(sqn);
    this.groupCommit?.join();
    if (this.stmt.setSqn.run(Number(sqn), impi).changes === 0) throw new StoreError(`no subscriber ${impi}`);
    this.cachedSqn(impi, sqn);
  }

  getRegistration(impu: string): Registration {
    const key = normaliseImpu(impu);
    this.revalidate();
    const cached = this.registrations.get(key);
    if (cached) return cached;
    const row = this.stmt.getRegistration.get(key);
    const r = Object.freeze(row ? toRegistration(row) : notRegistered(key));
    this.registrations.set(key, r);
    return r;
  }

  setRegistrations(registrations: Registration[]): void {
    this.groupCommit?.join();
    // One row is one statement, all-or-nothing by itself; several need the savepoint.
    if (registrations.length === 1 && this.db.inTransaction) this.writeRegistrations(registrations);
    else this.tx.setRegistrations(registrations);
  }

  private writeRegistrations(registrations: Registration[]): void {
    const stored: Registration[] = [];
    for (const r of registrations) {
      const key = normaliseImpu(r.impu);
      const row = toRegistrationRow(key, r);
      if (row === undefined) this.stmt.deleteRegistration.run(key);
      else this.stmt.upsertRegistration.run(row.impu, row.state, row.server_name, row.scscf_host, row.scscf_realm, row.auth_pending);
      // What the next read finds is what a fresh store would build from the row (or from no row).
      stored.push(Object.freeze(row === undefined ? notRegistered(key) : toRegistration(row)));
    }
    // Only once every statement has run: a failure part-way leaves the cache as the rolled-back file is.
    for (const r of stored) this.registrations.set(r.impu, r);
  }

  listRegistrations(): Registration[] {
    return this.stmt.listRegistrations.all().map(toRegistration);
  }

  listScscfs(): ScscfCapabilities[] {
    this.revalidate();
    let table = this.scscfs;
    if (table === undefined) {
      table = this.stmt.listScscfs.all().map((r) => {
        const capabilities = JSON.parse(r.capabilities) as number[];
        Object.freeze(capabilities);
        return Object.freeze({ serverName: r.server_name, capabilities });
      });
      this.scscfs = table;
    }
    // A fresh array each call, as before (the caller may sort or filter it); the entries are frozen.
    return table.slice();
  }

  putScscf(scscf: ScscfCapabilities): void {
    if (!scscf.serverName.startsWith('sip:') && !scscf.serverName.startsWith('sips:'))
      throw new StoreError(`Server-Name must be a SIP URI (TS 29.229 §6.3.4), got "${scscf.serverName}"`);
    if (!scscf.capabilities.every((c) => Number.isInteger(c) && c >= 0 && c <= 0xffffffff))
      throw new StoreError('capabilities are Unsigned32 values (TS 29.229 §6.3.5)');
    this.groupCommit?.join();
    this.scscfs = undefined;
    this.stmt.upsertScscf.run(scscf.serverName, JSON.stringify(scscf.capabilities));
  }

  removeScscf(serverName: string): boolean {
    this.groupCommit?.join();
    this.scscfs = undefined;
    return this.stmt.deleteScscf.run(serverName).changes > 0;
  }

  transaction<T>(fn: (store: SubscriberStore) => T): T {
    this.groupCommit?.join();
    try {
      return this.tx.run(fn) as T;
    } catch (err) {
      // Rolled back: what the cache learnt inside may not be in the file.
      this.forgetCached();
      throw err;
    }
  }

  flush(): Promise<void> {
    return this.groupCommit?.flush() ?? Promise.resolve();
  }

  close(): void {
    this.groupCommit?.close();
    if (this.db.open) this.db.close();
  }

  private forgetSubscription(impi: string, impuKeys: Iterable<string>): void {
    this.subscribers.delete(impi);
    for (const key of impuKeys) {
      this.owners.delete(key);
      this.registrations.delete(key);
    }
  }

  private cachedSqn(impi: string, sqn: bigint): void {
    const s = this.subscribers.get(impi);
    if (!s) return;
    const updated = Object.assign({}, s);
    updated.sqn = sqn;
    this.subscribers.set(impi, Object.freeze(updated));
  }

  /**
   * Called before every read that may answer from a cache: another process may have written the file (a
   * provisioning command beside a running core), and then nothing cached holds. Checked once per event-loop
   * turn, so that a turn's reads see one state, as they would inside a transaction. With group commit they
   * are inside one: the turn's read transaction (or its batch), which checks when it begins (onBegin).
   */
  private revalidate(): void {
    if (this.groupCommit) {
      this.groupCommit.read();
      return;
    }
    if (this.versionChecked) return;
    this.versionChecked = true;
    setImmediate(() => (this.versionChecked = false));
    this.checkDataVersion();
  }

  private checkDataVersion(): void {
    const v = this.dataVersion.get()!;
    if (v !== this.seenDataVersion) {
      this.seenDataVersion = v;
      this.forgetCached();
    }
  }

  private forgetCached(): void {
    this.subscribers.clear();
    this.owners.clear();
    this.registrations.clear();
    this.scscfs = undefined;
  }


}

/** Enough for a registration's requests to find their subscription in memory, bounded whatever the subscriber count. */
const CACHE_ENTRIES = 4096;

function toSubscriber(row: SubscriberRow, impuRows: ImpuRow[]): Subscriber {
  const impus = impuRows.map((r) => ({
    uri: r.uri,
    barred: r.barred === 1,
    ...(r.service_profile_id !== null ? { serviceProfileId: r.service_profile_id } : {}),
  }));
  const s: Subscriber = {
    impi: row.impi,
    impus,
    authSchemes: JSON.parse(row.auth_schemes) as AuthScheme[],
    amf: row.amf,
    sqn: BigInt(row.sqn),
    allowedVisitedNetworks: JSON.parse(row.allowed_visited_networks) as string[],
  };
  if (row.k) s.k = row.k;
  if (row.op) s.op = row.op;
  if (row.opc) s.opc = row.opc;
  if (row.password !== null) s.password = row.password;
  if (row.user_data !== null) s.userData = row.user_data;
  if (row.capabilities !== null) s.capabilities = JSON.parse(row.capabilities) as Subscriber['capabilities'];
  return s;
}

function freezeSubscriber(s: Subscriber): Subscriber {
  for (const p of s.impus) Object.freeze(p);
  Object.freeze(s.impus);
  Object.freeze(s.authSchemes);
  Object.freeze(s.allowedVisitedNetworks);
  return Object.freeze(s);
}

/** The row a registration is stored as; undefined when it is plain NOT_REGISTERED, which is stored as no row. */
function toRegistrationRow(key: string, r: Registration): RegistrationRow | undefined {
  if (r.state === 'NOT_REGISTERED' && !r.serverName && !r.authPending) return undefined;
  return {
    impu: key,
    state: r.state,
    server_name: r.serverName ?? null,
    scscf_host: r.scscfHost ?? null,
    scscf_realm: r.scscfRealm ?? null,
    auth_pending: r.authPending ? 1 : 0,
  };
}

function toRegistration(row: RegistrationRow): Registration {
  const r: Registration = { impu: row.impu, state: row.state as RegistrationState, authPending: row.auth_pending === 1 };
  if (row.server_name !== null) r.serverName = row.server_name;
  if (row.scscf_host !== null) r.scscfHost = row.scscf_host;
  if (row.scscf_realm !== null) r.scscfRealm = row.scscf_realm;
  return r;
}

function checkSqn(sqn: bigint): void {
  if (sqn < 0n || sqn >= 1n << 48n) throw new StoreError(`SQN 0x${sqn.toString(16)} does not fit in 48 bits`);
}
