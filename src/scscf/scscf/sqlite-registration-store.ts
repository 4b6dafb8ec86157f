import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TransportAddress } from '../../sip/transport/types.js';
import { GroupCommit } from '../../util/group-commit.js';
import { parseUserProfile } from '../user-profile.js';
import { MemoryRegistrationStore, type ContactBinding, type RegistrationStore, type SubscriptionRegistration } from './registration-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS registration (
  impi TEXT PRIMARY KEY,
  impus TEXT NOT NULL,
  barred TEXT NOT NULL,
  ids TEXT NOT NULL,
  user_data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contact (
  impi TEXT NOT NULL REFERENCES registration(impi) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  id TEXT NOT NULL,
  uri TEXT NOT NULL,
  params TEXT NOT NULL,
  display_name TEXT,
  instance TEXT,
  reg_id INTEGER,
  q REAL,
  expires_at INTEGER NOT NULL,
  registered_at INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  cseq INTEGER NOT NULL,
  path TEXT NOT NULL,
  received_from TEXT NOT NULL,
  PRIMARY KEY (impi, position)
);
`;

interface RegistrationRow {
  impi: string;
  impus: string;
  barred: string;
  ids: string;
  user_data: string;
}

interface ContactRow {
  impi: string;
  position: number;
  id: string;
  uri: string;
  params: string;
  display_name: string | null;
  instance: string | null;
  reg_id: number | null;
  q: number | null;
  expires_at: number;
  registered_at: number;
  call_id: string;
  cseq: number;
  path: string;
  received_from: string;
}

export class RegistrationStoreError extends Error {
  override readonly name = 'RegistrationStoreError';
}

/**
 * The S-CSCF's registrations on disk (issue 8 point 2): `<dataDir>/<node>-registrations.sqlite`, one row per
 * subscription (implicit set, barred identities, reginfo ids, and the User-Data of the last SAA as received,
 * TS 29.228 Annex E) and one per contact binding (RFC 3261 §10.3: expiry, Call-ID/CSeq; RFC 3327 Path; RFC
 * 5626 instance and reg-id).
 *
 * Reads are served from memory; every `put` and `remove` is one SQLite transaction committed with WAL and
 * `synchronous = FULL` before it returns, so the registrar's 200 OK (built after `put`) never confirms a
 * binding that a SIGKILL could still take away — the same rule the HSS follows for SQN and assignments.
 * With `groupCommit` (what the runner binds) the writes of one event-loop turn share one commit, the WAL is
 * synced off the event loop (group-commit.ts), and the registrar awaits `flush()` before it answers.
 */
export class SqliteRegistrationStore implements RegistrationStore {
  readonly path: string;
  private readonly db: Database.Database;
  private memory = new MemoryRegistrationStore();
  /** Set when writes are grouped per event-loop turn (util/group-commit.ts); durable when `flush()` resolves. */
  readonly groupCommit: GroupCommit | undefined;
  private readonly stmt;
  private readonly write: (r: SubscriptionRegistration, rowsHeld: boolean) => void;

  constructor(dataDir: string, options: { node?: string; fileName?: string; groupCommit?: boolean } = {}) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, options.fileName ?? `${options.node ?? 'scscf'}-registrations.sqlite`);
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    // A batch that fails to commit is gone from the file: memory is rebuilt from what the file still holds.
    this.groupCommit = options.groupCommit
      ? new GroupCommit(this.db, () => {
          this.memory = new MemoryRegistrationStore();
          this.load();
        })
      : undefined;
    const db = this.db;
    this.stmt = {
      registrations: db.prepare<[], RegistrationRow>('SELECT * FROM registration ORDER BY impi'),
      contacts: db.prepare<[], ContactRow>('SELECT * FROM contact ORDER BY impi, position'),
      // Positional parameters: binding by name looks each one up in an object made for the purpose.
      upsert: db.prepare<[string, string, string, string, string]>(
        `INSERT INTO registration (impi, impus, barred, ids, user_data) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(impi) DO UPDATE SET impus = excluded.impus, barred = excluded.barred, ids = excluded.ids, user_data = excluded.user_data`,
      ),
      deleteContacts: db.prepare<[string]>('DELETE FROM contact WHERE impi = ?'),
      insertContact: db.prepare<ContactValues>(
        `INSERT INTO contact (impi, position, id, uri, params, display_name, instance, reg_id, q, expires_at, registered_at, call_id, cseq, path, received_from)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      delete: db.prepare<[string]>('DELETE FROM registration WHERE impi = ?'),
    };
    // One unit (a SAVEPOINT inside a group-commit batch): a put that fails midway leaves no half of itself.
    this.write = db.transaction((r: SubscriptionRegistration, rowsHeld: boolean) => {
      this.stmt.upsert.run(r.impi, JSON.stringify(r.impus), r.barred.length === 0 ? '[]' : JSON.stringify(r.barred), JSON.stringify(r.ids), r.profile.xml);
      if (rowsHeld) this.stmt.deleteContacts.run(r.impi);
      for (let position = 0; position < r.contacts.length; position++) this.stmt.insertContact.run(...contactValues(r.impi, position, r.contacts[position]!));
    });
    this.load();
  }

  byImpi(impi: string): SubscriptionRegistration | undefined {
    return this.memory.byImpi(impi);
  }

  byImpu(impu: string): SubscriptionRegistration | undefined {
    return this.memory.byImpu(impu);
  }

  /** Durable before it returns; a failed write leaves both the file and the memory as they were. */
  put(registration: SubscriptionRegistration): void {
    this.groupCommit?.join();
    // The memory holds exactly what the file holds (a failed batch reloads it): a subscription it does not hold
    // with contacts has no contact rows to delete (the initial registration, the common case under load).
    this.write(registration, this.memory.holdsContacts(registration.impi));
    this.memory.put(registration);
  }

  remove(impi: string): boolean {
    this.groupCommit?.join();
    this.stmt.delete.run(impi);
    return this.memory.remove(impi);
  }

  list(): SubscriptionRegistration[] {
    return this.memory.list();
  }

  heldImpi(impi: string): string | undefined {
    return this.memory.heldImpi(impi);
  }

  flush(): Promise<void> {
    return this.groupCommit?.flush() ?? Promise.resolve();
  }

  close(): void {
    this.groupCommit?.close();
    if (this.db.open) this.db.close();
  }

  /** Everything the file holds, into memory. A row that no longer reads is named, never half-loaded. */
  private load(): void {
    const contacts = new Map<string, ContactBinding[]>();
    for (const row of this.stmt.contacts.all()) {
      const list = contacts.get(row.impi) ?? [];
      list.push(bindingOf(row));
      contacts.set(row.impi, list);
    }
    for (const row of this.stmt.registrations.all()) {
      let profile;
      try {
        profile = parseUserProfile(row.user_data);
      } catch (e) {
        throw new RegistrationStoreError(`${this.path}: the stored profile of ${row.impi} does not read: ${(e as Error).message}`);
      }
      this.memory.put({
        impi: row.impi,
        impus: JSON.parse(row.impus) as string[],
        barred: JSON.parse(row.barred) as string[],
        ids: JSON.parse(row.ids) as Record<string, string>,
        profile,
        contacts: contacts.get(row.impi) ?? [],
      });
    }
  }
}

/** The values of a contact row, in the column order of insertContact. */
type ContactValues = [
  impi: string,
  position: number,
  id: string,
  uri: string,
  params: string,
  display_name: string | null,
  instance: string | null,
  reg_id: number | null,
  q: number | null,
  expires_at: number,
  registered_at: number,
  call_id: string,
  cseq: number,
  path: string,
  received_from: string,
];

function contactValues(impi: string, position: number, c: ContactBinding): ContactValues {
  return [
    impi,
    position,
    c.id,
    c.uri,
    c.params.length === 0 ? '[]' : JSON.stringify(c.params),
    c.displayName ?? null,
    c.instance ?? null,
    c.regId ?? null,
    c.q ?? null,
    c.expiresAt,
    c.registeredAt,
    c.callId,
    c.cseq,
    JSON.stringify(c.path),
    JSON.stringify(c.receivedFrom),
  ];
}

function bindingOf(row: ContactRow): ContactBinding {
  return {
    uri: row.uri,
    params: JSON.parse(row.params) as Array<[string, string | null]>,
    ...(row.display_name !== null ? { displayName: row.display_name } : {}),
    ...(row.instance !== null ? { instance: row.instance } : {}),
    ...(row.reg_id !== null ? { regId: row.reg_id } : {}),
    ...(row.q !== null ? { q: row.q } : {}),
    expiresAt: row.expires_at,
    registeredAt: row.registered_at,
    callId: row.call_id,
    cseq: row.cseq,
    path: JSON.parse(row.path) as string[],
    receivedFrom: JSON.parse(row.received_from) as TransportAddress,
    id: row.id,
  };
}
