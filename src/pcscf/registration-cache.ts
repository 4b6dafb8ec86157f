/**
 * What the P-CSCF keeps of each registered contact (TS 24.229 §5.2.2.1 after the 200): the public identities
 * of the implicit set (P-Associated-URI, the first is the default), the Service-Route, where the UE is (address,
 * port, transport, connection), the SA in use, and when it expires. Sessions (§5.2.6) read it to assert
 * identities and to check routes; it expires on its own timer.
 */
import { Subject, type Observable } from 'rxjs';
import type { TransportAddress } from '../sip/transport/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { saKey, type SecurityAssociation } from './security-associations.js';

export interface PcscfRegistration {
  /** The UE's contact URI as registered (without <>). */
  readonly contact: string;
  /** +sip.instance of the contact (RFC 5626), when given. */
  readonly instance?: string;
  /** The private identity from the Authorization username, when the UE sent one. */
  readonly impi?: string;
  /** P-Associated-URI of the 200 (RFC 7315 §4.1), in order: the first is the default public identity. */
  readonly impus: readonly string[];
  /** The public identity registered (To of the REGISTER). */
  readonly registeredImpu: string;
  /** Service-Route of the 200 (RFC 3608 §6), each `<uri>` value in order. */
  readonly serviceRoute: readonly string[];
  /** The P-CSCF's own Path value written into the REGISTER. */
  readonly path: string;
  /** Where the REGISTER came from: the UE as the network sees it (TS 24.229 §5.2.2.1 "the UE's IP address"). */
  readonly ue: TransportAddress;
  /** The TCP/TLS connection it came over, for requests toward the UE. */
  readonly connectionId?: string;
  /** The REGISTER's Call-ID (RFC 3261 §10.3: ordering and replacement of bindings). */
  readonly callId: string;
  /** Clock time (ms) the registration was first stored / last refreshed / ends. */
  readonly registeredAt: number;
  readonly refreshedAt: number;
  readonly expiresAt: number;
  /** How the REGISTER that got the 200 was authenticated, as its Authorization shows (algorithm AKA* or other). */
  readonly authentication?: 'ims-aka' | 'sip-digest';
  /** The security association pair in use (simulated IPsec), when the UE agreed on one. */
  readonly sa?: SecurityAssociation;
}

export type RegistrationChange =
  | { kind: 'registered' | 'refreshed'; registration: PcscfRegistration }
  | { kind: 'removed'; registration: PcscfRegistration; reason: RemovalReason };

/** Why a registration left the cache. */
export type RemovalReason = 'deregistered' | 'expired' | 'network' | 'stopped';

/** Contacts compared as written, the host part case-insensitively (RFC 3261 §19.1.4 would also ignore order of params). */
export function contactKey(contact: string): string {
  return contact.trim().toLowerCase();
}

/** Contact keys under a lookup value, each set in insertion order (the order `list()` has). */
class Index {
  private readonly sets = new Map<string, Set<string>>();

  add(at: string, key: string): void {
    const set = this.sets.get(at);
    if (set) set.add(key);
    else this.sets.set(at, new Set([key]));
  }

  remove(at: string, key: string): void {
    const set = this.sets.get(at);
    if (!set) return;
    set.delete(key);
    if (set.size === 0) this.sets.delete(at);
  }

  get(at: string): ReadonlySet<string> | undefined {
    return this.sets.get(at);
  }

  clear(): void {
    this.sets.clear();
  }
}

/** Where a registration is found besides its contact. */
interface IndexKeys {
  readonly address: string;
  readonly endpoint: string;
  /** Its implicit set and the identity it registered, lowercased. */
  readonly impus: ReadonlySet<string>;
  /** Its SA pair in use (security-associations.ts saKey), if any. */
  readonly sa: string | undefined;
}

function endpointKey(address: string, port: number): string {
  return `${address} ${port}`;
}

function indexKeys(reg: PcscfRegistration): IndexKeys {
  const impus = new Set<string>();
  for (const u of reg.impus) impus.add(u.trim().toLowerCase());
  impus.add(reg.registeredImpu.trim().toLowerCase());
  return {
    address: reg.ue.address,
    endpoint: endpointKey(reg.ue.address, reg.ue.port),
    impus,
    sa: reg.sa ? saKey(reg.sa.ueAddress, reg.sa.ue) : undefined,
  };
}

/**
 * Registrations by contact, with indexes by UE address, by address and port, by IMPU and by SA: every
 * REGISTER and every request from a UE looks its registrations up (§5.2.2.1 SA choice, §5.2.6.3 asserted
 * identity), so a lookup costs the registrations it returns, not the size of the cache.
 */
export class RegistrationCache {
  private readonly byContact = new Map<string, { reg: PcscfRegistration; timer: TimerHandle; at: IndexKeys }>();
  private readonly byAddress = new Index();
  private readonly byEndpoint = new Index();
  private readonly byImpuKey = new Index();
  private readonly bySaKey = new Index();
  private readonly changes = new Subject<RegistrationChange>();
  /** Every change: sessions and the reg-event subscriber follow it; the trace notes come from the P-CSCF. */
  readonly changes$: Observable<RegistrationChange> = this.changes.asObservable();

  constructor(private readonly clock: Clock) {}

  /** Stores or refreshes a registration; its timer removes it at expiresAt (TS 24.229 §5.2.2.1). */
  put(reg: PcscfRegistration): void {
    const key = contactKey(reg.contact);
    const old = this.byContact.get(key);
    old?.timer.cancel();
    const timer = this.clock.setTimeout(() => this.remove(reg.contact, 'expired'), Math.max(0, reg.expiresAt - this.clock.now()));
    const at = indexKeys(reg);
    this.reindex(key, old?.at, at);
    this.byContact.set(key, { reg, timer, at });
    this.changes.next({ kind: old ? 'refreshed' : 'registered', registration: reg });
  }

  remove(contact: string, reason: RemovalReason): PcscfRegistration | undefined {
    const key = contactKey(contact);
    const entry = this.byContact.get(key);
    if (!entry) return undefined;
    entry.timer.cancel();
    this.byContact.delete(key);
    this.reindex(key, entry.at, undefined);
    this.changes.next({ kind: 'removed', registration: entry.reg, reason });
    return entry.reg;
  }

  get(contact: string): PcscfRegistration | undefined {
    return this.byContact.get(contactKey(contact))?.reg;
  }

  /** Registrations whose implicit set holds `impu` (compared case-insensitively, as IMPU keys are). */
  byImpu(impu: string): PcscfRegistration[] {
    return this.collect(this.byImpuKey.get(impu.trim().toLowerCase()));
  }

  /** Registrations made from one UE address (and port, when given). */
  byUe(address: string, port?: number): PcscfRegistration[] {
    return this.collect(port === undefined ? this.byAddress.get(address) : this.byEndpoint.get(endpointKey(address, port)));
  }

  /** Registrations whose SA pair in use is the one the UE at `address` set up with these SPIs (TS 33.203 §7.4). */
  bySa(address: string, ue: { spiC: number; spiS: number }): PcscfRegistration[] {
    return this.collect(this.bySaKey.get(saKey(address, ue)));
  }

  list(): PcscfRegistration[] {
    return [...this.byContact.values()].map((e) => e.reg);
  }

  get size(): number {
    return this.byContact.size;
  }

  /** Cancels every timer; registrations are dropped without notice to anyone but the changes stream. */
  clear(): void {
    for (const { reg, timer } of [...this.byContact.values()]) {
      timer.cancel();
      this.changes.next({ kind: 'removed', registration: reg, reason: 'stopped' });
    }
    this.byContact.clear();
    this.byAddress.clear();
    this.byEndpoint.clear();
    this.byImpuKey.clear();
    this.bySaKey.clear();
  }

  close(): void {
    this.clear();
    this.changes.complete();
  }

  private collect(keys: ReadonlySet<string> | undefined): PcscfRegistration[] {
    const out: PcscfRegistration[] = [];
    if (keys) for (const key of keys) out.push(this.byContact.get(key)!.reg);
    return out;
  }

  /** Moves a contact from its old index entries to its new ones; a refresh that keeps them keeps its place. */
  private reindex(key: string, from: IndexKeys | undefined, to: IndexKeys | undefined): void {
    const move = (index: Index, a: string | undefined, b: string | undefined) => {
      if (a === b) return;
      if (a !== undefined) index.remove(a, key);
      if (b !== undefined) index.add(b, key);
    };
    move(this.byAddress, from?.address, to?.address);
    move(this.byEndpoint, from?.endpoint, to?.endpoint);
    move(this.bySaKey, from?.sa, to?.sa);
    if (from) for (const u of from.impus) if (!to?.impus.has(u)) this.byImpuKey.remove(u, key);
    if (to) for (const u of to.impus) if (!from?.impus.has(u)) this.byImpuKey.add(u, key);
  }
}
