import type Database from 'better-sqlite3';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit for an embedded SQLite store (the HSS's subscribers, the S-CSCF's registrations): every write made while the event loop handles one batch of
 * requests lands in one transaction, committed once (one fsync of the WAL) when the loop turns, and the
 * callers that answer on those writes wait for that commit with `flush()`.
 *
 * Why: with `synchronous = FULL` each commit waits for the disk (3–8 ms on a VM, more when it is busy). One
 * commit per MAR and per SAR caps an HSS at a few hundred Cx requests per second and, in one process, stalls
 * all SIP with it. A batch pays that wait once for every request that arrived together. Durability is the
 * same as a commit per request (issue 8: nothing answered may be lost on SIGKILL), because no answer leaves
 * before the commit that holds its writes has returned.
 *
 * Each store method still runs as its own unit inside the batch: better-sqlite3 turns a transaction opened
 * while another is open into a SAVEPOINT, so a method that throws rolls back its own writes only.
 */
export class GroupCommit {
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** Transactions committed so far (each one fsync), for tests and counters. */
  commits = 0;

  /**
   * `onRollback` runs after a batch failed to commit and was rolled back: a store that mirrors the file in
   * memory reloads it there, so that memory does not keep what the disk lost.
   */
  constructor(
    private readonly db: Database.Database,
    private readonly onRollback?: () => void,
  ) {}

  /** Called before every write: opens the batch's transaction when none is open, and schedules its commit. */
  join(): void {
    if (this.db.inTransaction) return;
    // IMMEDIATE takes the write lock now, so a commit never fails for a lock another process took meanwhile.
    this.db.exec('BEGIN IMMEDIATE');
    if (!this.scheduled) {
      this.scheduled = true;
      // setImmediate runs after the poll phase: every request read in this turn has made its writes by then.
      setImmediate(() => this.commit());
    }
  }

  /** Resolves once every write made so far is committed; rejects with the error when that commit failed. */
  flush(): Promise<void> {
    if (!this.db.inTransaction) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Commits the open batch now (close, or a caller that must not wait for the turn). */
  commit(): void {
    this.scheduled = false;
    const waiters = this.waiters;
    this.waiters = [];
    if (!this.db.open || !this.db.inTransaction) {
      for (const w of waiters) w.resolve();
      return;
    }
    try {
      this.db.exec('COMMIT');
    } catch (e) {
      // Disk full, I/O error: the whole batch is gone, so every request in it must hear that it failed.
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      this.onRollback?.();
      for (const w of waiters) w.reject(e);
      return;
    }
    this.commits++;
    for (const w of waiters) w.resolve();
  }
}
