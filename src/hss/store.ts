import type { Registration, ScscfCapabilities, Subscriber } from './subscriber.js';

/**
 * Where the HSS keeps subscriptions and what it learned about them (ARCHITECTURE: "the subscriber store is
 * an interface"). Every method is all-or-nothing. Writes that an answer depends on (SQN, S-CSCF assignment,
 * registration state) are durable when the method returns, or for a store that groups commits when `flush()`
 * resolves, so an answer never promises what a crash forgets.
 *
 * The interface is synchronous: the embedded store answers in microseconds, and a store that is synchronous
 * can run an import or a read-modify-write as one transaction without interleaving other requests.
 */
export interface SubscriberStore {
  get(impi: string): Subscriber | undefined;
  /** The private identity owning a public identity (one owner per IMPU in imslab). */
  findImpiByImpu(impu: string): string | undefined;
  list(): Subscriber[];
  /** Inserts or replaces a subscription. Throws StoreError if one of its IMPUs belongs to another IMPI. */
  put(subscriber: Subscriber): void;
  /** Removes a subscription and the state of its IMPUs; false when there was none. */
  remove(impi: string): boolean;

  /**
   * Atomically advances the subscriber's SQN with `advance` (TS 33.102 Annex C scheme), persists it and
   * returns the new value. Throws StoreError for an unknown IMPI.
   */
  nextSqn(impi: string, advance: (sqn: bigint) => bigint): bigint;
  /** Sets the SQN (after a resynchronisation, TS 33.102 §6.3.5). */
  setSqn(impi: string, sqn: bigint): void;

  /** Registration state of a public identity; NOT_REGISTERED with no S-CSCF when nothing is stored. */
  getRegistration(impu: string): Registration;
  /** Stores the state of several IMPUs at once (an implicit registration set moves together, TS 29.228 §6.5). */
  setRegistrations(registrations: Registration[]): void;
  /** Every stored registration that is not plain NOT_REGISTERED. */
  listRegistrations(): Registration[];

  /** The S-CSCF capability table (TS 29.228 §6.7). */
  listScscfs(): ScscfCapabilities[];
  putScscf(scscf: ScscfCapabilities): void;
  removeScscf(serverName: string): boolean;

  /** Runs `fn` as one transaction: every write inside it lands, or none does (a failed import changes nothing). */
  transaction<T>(fn: (store: SubscriberStore) => T): T;

  /**
   * Resolves when every write made so far is durable; rejects when it could not be made so. A store that
   * groups commits (SqliteSubscriberStore with `groupCommit`) makes writes durable only here, so whoever
   * answers on a write (the Cx server) awaits this first; for the others it resolves at once.
   */
  flush(): Promise<void>;

  close(): void;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
}
