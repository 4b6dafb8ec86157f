import type { TransportAddress } from '../../sip/transport/types.js';
import type { UserProfile } from '../user-profile.js';
import { publicIdentityKey } from '../../sip/public-identity.js';

/**
 * What the S-CSCF registrar keeps per subscription (TS 24.229 §5.4.1.2.2, RFC 3261 §10.3): the implicit
 * registration set (every public identity of the subscription shares the contacts, TS 23.228 §5.2.1a), the
 * profile from the SAA, and the contact bindings with what RFC 3327/5626 ask to keep beside them.
 */
export interface ContactBinding {
  /** The Contact URI (the binding's key with +sip.instance / reg-id when those are present, RFC 5626 §6). */
  uri: string;
  /** Contact header parameters besides expires, as written (q, +sip.instance, reg-id, feature tags). */
  params: Array<[string, string | null]>;
  displayName?: string;
  instance?: string;
  regId?: number;
  q?: number;
  /** Absolute expiry, ms since the epoch on the node's clock. */
  expiresAt: number;
  registeredAt: number;
  /** RFC 3261 §10.3 step 7: Call-ID and CSeq of the REGISTER that last updated the binding. */
  callId: string;
  cseq: number;
  /** RFC 3327 §5.3: the Path of that REGISTER, top first (how terminating requests reach the UE). */
  path: string[];
  /** Where the REGISTER came from (the last hop: I-CSCF or P-CSCF). */
  receivedFrom: TransportAddress;
  /** Stable id of this contact in reginfo documents (RFC 3680 §5.3 contact id). */
  id: string;
}

export interface SubscriptionRegistration {
  impi: string;
  /** The implicit registration set in profile order (default identity first), barred ones included. */
  impus: string[];
  /** The barred identities of the set (TS 29.228 Annex B.2.1). */
  barred: string[];
  profile: UserProfile;
  contacts: ContactBinding[];
  /** Stable id of the registration element in reginfo documents, per IMPU. */
  ids: Record<string, string>;
}

/**
 * Where registrations live: in memory, or in SQLite in the data directory (sqlite-registration-store.ts) so
 * that a restarted S-CSCF keeps serving its users (issue 8 point 2). `put` and `remove` are done when they
 * return: the registrar answers 200 only after them. Returned objects are copies: a caller changes a
 * registration only through `put`.
 */
export interface RegistrationStore {
  byImpi(impi: string): SubscriptionRegistration | undefined;
  /** The registration whose implicit set holds this public identity (compared after normalisation). */
  byImpu(impu: string): SubscriptionRegistration | undefined;
  put(registration: SubscriptionRegistration): void;
  remove(impi: string): boolean;
  list(): SubscriptionRegistration[];
  /**
   * Resolves once every put/remove so far is durable (a store that groups commits makes them so only here);
   * rejects when they could not be, and the store then holds what it held before them. Absent: durable at once.
   */
  flush?(): Promise<void>;
  /** Releases what the store holds open (a database file); the store is not used afterwards. */
  close?(): void;
}

/** The key an IMPU is indexed by: see publicIdentityKey (TS 23.003 §13.4). */
export function impuKey(uri: string): string {
  return publicIdentityKey(uri);
}

export class MemoryRegistrationStore implements RegistrationStore {
  private readonly regs = new Map<string, SubscriptionRegistration>();
  private readonly index = new Map<string, string>();

  byImpi(impi: string): SubscriptionRegistration | undefined {
    const r = this.regs.get(impi);
    return r ? copy(r) : undefined;
  }

  byImpu(impu: string): SubscriptionRegistration | undefined {
    const impi = this.index.get(impuKey(impu));
    return impi === undefined ? undefined : this.byImpi(impi);
  }

  put(registration: SubscriptionRegistration): void {
    this.remove(registration.impi);
    this.regs.set(registration.impi, copy(registration));
    for (const u of registration.impus) this.index.set(impuKey(u), registration.impi);
  }

  remove(impi: string): boolean {
    const old = this.regs.get(impi);
    if (!old) return false;
    this.regs.delete(impi);
    for (const u of old.impus) if (this.index.get(impuKey(u)) === impi) this.index.delete(impuKey(u));
    return true;
  }

  list(): SubscriptionRegistration[] {
    return [...this.regs.values()].map(copy);
  }
}

function copy(r: SubscriptionRegistration): SubscriptionRegistration {
  return {
    ...r,
    impus: [...r.impus],
    barred: [...r.barred],
    ids: { ...r.ids },
    contacts: r.contacts.map((c) => ({ ...c, params: c.params.map((p) => [p[0], p[1]] as [string, string | null]), path: [...c.path], receivedFrom: { ...c.receivedFrom } })),
  };
}
