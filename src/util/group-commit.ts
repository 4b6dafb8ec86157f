import type Database from 'better-sqlite3';
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** Flushes a file descriptor to the disk and calls back; the default runs `fdatasync` on the libuv thread pool. */
export type DataSync = (fd: number, done: (error: Error | null) => void) => void;

export interface GroupCommitOptions {
  /**
   * Runs after a batch failed to commit and was rolled back: a store that mirrors the file in memory reloads
   * it there, so that memory does not keep what the disk lost.
   */
  onRollback?: () => void;
  /** How the WAL reaches the disk after a commit (tests hold it back to see that answers wait for it). */
  dataSync?: DataSync;
  /**
   * Runs right after a transaction began (a turn's read transaction, or a batch's BEGIN IMMEDIATE): the
   * moment to see, with one cheap statement inside it, whether another connection committed meanwhile.
   */
  onBegin?: () => void;
}

/**
 * Group commit for an embedded SQLite store (the HSS's subscribers, the S-CSCF's registrations): every write made while the event loop handles one batch of
 * requests lands in one transaction, committed once when the loop turns, and the callers that answer on
 * those writes wait for that commit, and for the disk, with `flush()`.
 *
 * Why: with `synchronous = FULL` each commit waits for the disk inside the event loop (3–8 ms on a VM, 100 ms
 * and more when it is busy), and every SIP message and Diameter request of the process waits with it. A batch
 * pays that wait once for every request that arrived together, and in WAL mode the wait leaves the loop
 * altogether: the commit runs with `synchronous = NORMAL` (SQLite appends the batch to the `-wal` file without
 * syncing it) and the `-wal` file is then synced with `fdatasync` on the libuv thread pool. `flush()` resolves
 * only after that sync, so durability is the same as a `FULL` commit per request (issue 8: nothing answered
 * may be lost, on SIGKILL or on power loss): no answer leaves before the disk holds its writes. While one
 * batch's sync runs, the loop goes on serving and gathering the next batch.
 *
 * A database that is not in WAL mode (no `-wal` file to sync) keeps the synchronous setting its owner chose,
 * and its waiters resolve when COMMIT returns.
 *
 * Each store method still runs as its own unit inside the batch: better-sqlite3 turns a transaction opened
 * while another is open into a SAVEPOINT, so a method that throws rolls back its own writes only.
 */
export class GroupCommit {
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** The WAL file to sync, when the database is a file in WAL mode. */
  private readonly walPath: string | undefined;
  private walFd: number | undefined;
  /** Waiters of the sync in flight (at most one runs: the disk takes one flush at a time anyway). */
  private syncing: Waiter[] | undefined;
  /** Waiters of commits made since that sync started; the next sync covers them all. */
  private unsynced: Waiter[] = [];
  /** A commit was made that no sync has covered yet. */
  private dirty = false;
  private closed = false;
  private readonly onRollback: (() => void) | undefined;
  private readonly onBegin: (() => void) | undefined;
  private readonly dataSync: DataSync;
  /** The open transaction is a turn's read transaction (read()), not a batch of writes. */
  private reading = false;
  /** The open batch outlived its turn: a sync was in flight, and the batch commits when that sync returns. */
  private held = false;
  /** Transactions committed so far, for tests and counters. */
  commits = 0;
  /** WAL syncs completed off the event loop (one per commit at low load, fewer under load). */
  syncs = 0;

  constructor(
    private readonly db: Database.Database,
    options: GroupCommitOptions | (() => void) = {},
  ) {
    const o = typeof options === 'function' ? { onRollback: options } : options;
    this.onRollback = o.onRollback;
    this.onBegin = o.onBegin;
    this.dataSync = o.dataSync ?? ((fd, done) => fdatasync(fd, done));
    const file = db.memory ? '' : db.name;
    const wal = file !== '' && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
    if (wal) {
      // SQLite: in WAL mode NORMAL leaves the WAL unsynced at COMMIT (synced at checkpoints only); the sync
      // this class runs after every commit restores FULL's guarantee without holding the loop.
      db.pragma('synchronous = NORMAL');
      this.walPath = `${file}-wal`;
    }
  }

  /** Called before every write: opens the batch's transaction when none is open, and schedules its commit. */
  join(): void {
    if (this.db.inTransaction) {
      if (!this.reading) return;
      // A read transaction becomes a write transaction only if nobody committed since it began (else
      // SQLITE_BUSY_SNAPSHOT, which no busy timeout retries): end it, and wait for the write lock as usual.
      this.reading = false;
      this.db.exec('COMMIT');
    }
    // IMMEDIATE takes the write lock now, so a commit never fails for a lock another process took meanwhile.
    this.db.exec('BEGIN IMMEDIATE');
    this.onBegin?.();
    this.schedule();
  }

  /**
   * Called before a read: when no transaction is open, opens a read transaction that lasts until the turn
   * ends. The turn's reads then share one snapshot and one WAL read lock (each statement outside a
   * transaction takes and releases that lock on its own, two fcntl calls each), and `onBegin` looks once
   * for what other connections committed. A write later in the turn turns it into the batch (join()).
   */
  read(): void {
    if (this.db.inTransaction) return;
    this.db.exec('BEGIN');
    this.reading = true;
    this.onBegin?.();
    this.schedule();
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate runs after the poll phase: every request read in this turn has made its writes by then.
      setImmediate(() => this.endTurn());
    }
  }

  /**
   * Resolves once every write made so far is committed and on the disk; rejects with the error when that
   * commit or its sync failed.
   */
  flush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      // A read transaction holds no writes of its own: only earlier commits may still be on their way to disk.
      if (this.db.inTransaction && !this.reading) this.waiters.push(waiter);
      else this.afterEarlierCommits([waiter]);
    });
  }

  /** Nothing of theirs is open: they wait for the sync that covers the last commit, if it has not returned yet. */
  private afterEarlierCommits(waiters: Waiter[]): void {
    if (this.dirty) this.unsynced.push(...waiters);
    else if (this.syncing) this.syncing.push(...waiters);
    else settle(waiters);
  }

  /**
   * The turn is over. A batch of writes commits now — unless a sync is still in flight: its writes could not
   * reach the disk before that sync returns anyway (one runs at a time), so the batch stays open and gathers
   * the next turns' writes too, and commits the moment the sync returns. Under load that is one COMMIT (and
   * one set of WAL frames for pages written many times) for several turns, with no answer leaving later than
   * it would have: its sync could not have started sooner.
   */
  private endTurn(): void {
    if (this.syncing && !this.reading && this.db.open && this.db.inTransaction) {
      this.scheduled = false;
      this.held = true;
      return;
    }
    this.commit();
  }

  /** Commits the open batch now; its waiters resolve when the WAL sync returns (close, or a caller that must not wait for the turn). */
  commit(): void {
    this.scheduled = false;
    this.held = false;
    const waiters = this.waiters;
    this.waiters = [];
    if (!this.db.open || !this.db.inTransaction) {
      settle(waiters);
      return;
    }
    if (this.reading) {
      // The turn only read: ending its transaction writes nothing, so there is nothing to count or sync.
      this.reading = false;
      this.db.exec('COMMIT');
      this.afterEarlierCommits(waiters);
      return;
    }
    try {
      this.db.exec('COMMIT');
    } catch (e) {
      // Disk full, I/O error: the whole batch is gone, so every request in it must hear that it failed.
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.onRollback?.();
      settle(waiters, e);
      return;
    }
    this.commits++;
    const fd = this.wal();
    if (fd === undefined) {
      settle(waiters);
      return;
    }
    this.unsynced.push(...waiters);
    this.dirty = true;
    // While a sync runs, commits pile up behind it and the next one covers them all: under load the count of
    // syncs follows what the disk can do, not the request rate.
    if (!this.syncing) this.sync(fd);
  }

  private sync(fd: number): void {
    const batch = this.unsynced;
    this.unsynced = [];
    this.dirty = false;
    this.syncing = batch;
    this.dataSync(fd, (error) => {
      this.syncing = undefined;
      if (!error) this.syncs++;
      // The commits are in the file, but the disk did not confirm them: nothing may be answered as durable.
      settle(batch, error ?? undefined);
      if (this.held && !this.closed) this.commit(); // starts the next sync, which covers it
      else if (this.dirty && !this.closed) this.sync(fd);
      else this.releaseFd();
    });
  }

  /**
   * Commits what is open and syncs it before returning (the store is closing; no loop turn is left to wait
   * for), then releases the WAL file once no sync is in flight.
   */
  close(): void {
    if (this.closed) return;
    const waiters = this.waiters;
    this.waiters = [];
    this.scheduled = false;
    this.held = false;
    if (this.db.open && this.db.inTransaction && this.reading) {
      this.reading = false;
      this.db.exec('COMMIT');
      settle(waiters);
    } else if (this.db.open && this.db.inTransaction) {
      try {
        this.db.exec('COMMIT');
        this.commits++;
        this.dirty = true;
        this.unsynced.push(...waiters);
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        this.onRollback?.();
        settle(waiters, e);
      }
    } else settle(waiters);
    const fd = this.dirty ? this.wal() : undefined;
    const unsynced = this.unsynced;
    this.unsynced = [];
    let failure: unknown;
    try {
      if (fd !== undefined) fdatasyncSync(fd);
      this.dirty = false;
    } catch (e) {
      failure = e;
    }
    settle(unsynced, failure);
    this.closed = true;
    this.releaseFd();
  }

  /** The WAL's descriptor, opened at the first commit (SQLite creates the file with the first write). */
  private wal(): number | undefined {
    if (this.walPath === undefined || this.closed) return undefined;
    this.walFd ??= openSync(this.walPath, 'r+');
    return this.walFd;
  }

  private releaseFd(): void {
    if (this.closed && !this.syncing && this.walFd !== undefined) {
      closeSync(this.walFd);
      this.walFd = undefined;
    }
  }
}

function settle(waiters: Waiter[], error?: unknown): void {
  if (error === undefined) for (const w of waiters) w.resolve();
  else for (const w of waiters) w.reject(error);
}
