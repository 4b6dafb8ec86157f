/**
 * What the P-CSCF keeps of each registered contact (TS 24.229 §5.2.2.1 after the 200): the public identities
 * of the implicit set (P-Associated-URI, the first is the default), the Service-Route, where the UE is (address,
 * port, transport, connection), the SA in use, and when it expires. Sessions (§5.2.6) read it to assert
 * identities and to check routes; it expires on its own timer.
 */
import { Subject, type Observable } from 'rxjs';
import type { TransportAddress } from '../sip/transport/types.js';
import type { Clock } from '../util/clock.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import { Interner } from '../util/interner.js';
import { ownString } from '../util/own-string.js';
import { hasUeSpis, saKey, saKeyOf, type SecurityAssociation } from './security-associations.js';

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

/**
 * The registration as the cache keeps it (issue 7: memory per registered UE): the same fields, every string its
 * own copy rather than a view into the REGISTER or 200 it was cut from (util/own-string.ts: such a view keeps
 * the whole message, ≈ 1 KB each), the Service-Route and Path every UE behind one S-CSCF shares held once
 * (util/interner.ts), a value that occurs twice (the registered IMPU among the implicit set, the UE's address
 * and IMPI in its SA) held once, and optional fields set in the constructor so that V8 keeps them inside the
 * object.
 */
class HeldRegistration implements PcscfRegistration {
  readonly contact: string;
  declare readonly instance?: string;
  declare readonly impi?: string;
  readonly impus: readonly string[];
  readonly registeredImpu: string;
  readonly serviceRoute: readonly string[];
  readonly path: string;
  readonly ue: TransportAddress;
  declare readonly connectionId?: string;
  readonly callId: string;
  readonly registeredAt: number;
  readonly refreshedAt: number;
  readonly expiresAt: number;
  declare readonly authentication?: 'ims-aka' | 'sip-digest';
  declare readonly sa?: SecurityAssociation;

  constructor(reg: PcscfRegistration, shared: Interner) {
    const optional = this as { -readonly [K in keyof PcscfRegistration]: PcscfRegistration[K] };
    this.contact = ownString(reg.contact);
    if (reg.instance !== undefined) optional.instance = ownString(reg.instance);
    if (reg.impi !== undefined) optional.impi = reg.sa?.impi === reg.impi ? reg.sa.impi : ownString(reg.impi);
    const impus = reg.impus.map(ownString);
    this.impus = impus;
    this.registeredImpu = impus.find((u) => u === reg.registeredImpu) ?? ownString(reg.registeredImpu);
    this.serviceRoute = shared.list(reg.serviceRoute);
    this.path = shared.string(reg.path);
    const address = reg.sa?.ueAddress === reg.ue.address ? reg.sa.ueAddress : ownString(reg.ue.address);
    this.ue = { transport: reg.ue.transport, address, port: reg.ue.port };
    if (reg.connectionId !== undefined) optional.connectionId = ownString(reg.connectionId);
    this.callId = ownString(reg.callId);
    this.registeredAt = reg.registeredAt;
    this.refreshedAt = reg.refreshedAt;
    this.expiresAt = reg.expiresAt;
    if (reg.authentication !== undefined) optional.authentication = reg.authentication;
    if (reg.sa !== undefined) optional.sa = reg.sa;
  }
}

/** Contacts compared as written, the host part case-insensitively (RFC 3261 §19.1.4 would also ignore order of params). */
export function contactKey(contact: string): string {
  return contact.trim().toLowerCase();
}

/**
 * Contact keys under a lookup value, in insertion order (the order `list()` has). Most values (a UE's address,
 * its IMPUs, its SA pair) lead to one contact, and a Set costs ≈ 230 bytes where a string costs nothing more
 * (issue 7: memory per registered UE), so a value holds its one key as a string and a Set only from the second.
 */
class Index {
  private readonly at = new Map<string, string | Set<string>>();

  add(value: string, key: string): void {
    const held = this.at.get(value);
    if (held === undefined) this.at.set(value, key);
    else if (typeof held === 'string') {
      if (held !== key) this.at.set(value, new Set([held, key]));
    } else held.add(key);
  }

  remove(value: string, key: string): void {
    const held = this.at.get(value);
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held === key) this.at.delete(value);
      return;
    }
    held.delete(key);
    if (held.size === 1) this.at.set(value, held.values().next().value!);
  }

  get(value: string): Iterable<string> | undefined {
    const held = this.at.get(value);
    return typeof held === 'string' ? [held] : held;
  }

  /** The one key under `value`, or undefined when there are none or several. */
  sole(value: string): string | undefined {
    const held = this.at.get(value);
    return typeof held === 'string' ? held : undefined;
  }

  count(value: string): number {
    const held = this.at.get(value);
    return held === undefined ? 0 : typeof held === 'string' ? 1 : held.size;
  }

  clear(): void {
    this.at.clear();
  }
}

/** Joined, as saKey is: one flat string that the index keeps as it is, not a rope to copy (issue 7). */
function endpointKey(address: string, port: number): string {
  return [address, port].join(' ');
}

/** An IMPU as the index compares it (as IMPU keys are: case-insensitively). */
function impuIndexKey(impu: string): string {
  return impu.trim().toLowerCase();
}

/** The implicit set and the identity registered, as index keys, each once. */
function impuKeys(reg: PcscfRegistration): string[] {
  const keys: string[] = [];
  for (const u of reg.impus) {
    const k = impuIndexKey(u);
    if (!keys.includes(k)) keys.push(k);
  }
  const registered = impuIndexKey(reg.registeredImpu);
  if (!keys.includes(registered)) keys.push(registered);
  return keys;
}

/** An entry of an index kept only where the address alone does not find a registration. */
interface ScopedEntry {
  index: Index;
  value: string;
}

/**
 * Registrations by contact, with indexes by UE address, by address and port, by IMPU and by SA: every
 * REGISTER and every request from a UE looks its registrations up (§5.2.2.1 SA choice, §5.2.6.3 asserted
 * identity), so a lookup costs the registrations it returns, not the size of the cache.
 */
export class RegistrationCache {
  /** Index keys are derived from the registration each time, not kept beside it: one record per contact. */
  private readonly byContact = new Map<string, PcscfRegistration>();
  /** One timer for every expiry, not one per registration (src/util/deadline-queue.ts). */
  private readonly expiries: DeadlineQueue<string>;
  private readonly byAddress = new Index();
  /**
   * Address and port, for addresses with more than one registration only (many UEs behind one NAT, a load
   * generator): where an address has one, its registration's port is checked directly, and the endpoint key
   * and its Map entry are not kept (a UE with an address of its own is the common case, issue 7).
   */
  private readonly byEndpoint = new Index();
  private readonly byImpuKey = new Index();
  /** SA pairs, for registrations the address does not find alone (see `scoped`). */
  private readonly bySaKey = new Index();
  private readonly changes = new Subject<RegistrationChange>();
  /** Service-Routes and Paths, shared by every registration through the same S-CSCF and P-CSCF. */
  private readonly shared = new Interner();
  /** Every change: sessions and the reg-event subscriber follow it; the trace notes come from the P-CSCF. */
  readonly changes$: Observable<RegistrationChange> = this.changes.asObservable();

  constructor(private readonly clock: Clock) {
    this.expiries = new DeadlineQueue(clock, (key) => {
      const reg = this.byContact.get(key);
      // A refreshed registration left its earlier deadline behind: only the current one removes it.
      if (reg && reg.expiresAt <= this.clock.now()) this.remove(reg.contact, 'expired');
    });
  }

  /**
   * Stores or refreshes a registration; it is removed at expiresAt (TS 24.229 §5.2.2.1). The cache keeps a
   * copy (see `held`): what `get` and the changes stream give is equal to `given`, not the same object.
   */
  put(given: PcscfRegistration): void {
    const reg = new HeldRegistration(given, this.shared);
    const key = contactKey(reg.contact);
    const old = this.byContact.get(key);
    this.expiries.schedule(key, reg.expiresAt);
    this.reindex(key, old, reg);
    this.byContact.set(key, reg);
    this.changes.next({ kind: old ? 'refreshed' : 'registered', registration: reg });
  }

  remove(contact: string, reason: RemovalReason): PcscfRegistration | undefined {
    const key = contactKey(contact);
    const reg = this.byContact.get(key);
    if (!reg) return undefined;
    this.byContact.delete(key);
    this.reindex(key, reg, undefined);
    this.changes.next({ kind: 'removed', registration: reg, reason });
    return reg;
  }

  get(contact: string): PcscfRegistration | undefined {
    return this.byContact.get(contactKey(contact));
  }

  /** Registrations whose implicit set holds `impu` (compared case-insensitively, as IMPU keys are). */
  byImpu(impu: string): PcscfRegistration[] {
    return this.collect(this.byImpuKey.get(impuIndexKey(impu)));
  }

  /** Registrations made from one UE address (and port, when given). */
  byUe(address: string, port?: number): PcscfRegistration[] {
    if (port === undefined) return this.collect(this.byAddress.get(address));
    const sole = this.byAddress.sole(address);
    if (sole === undefined) return this.collect(this.byEndpoint.get(endpointKey(address, port)));
    const reg = this.byContact.get(sole)!;
    return reg.ue.port === port ? [reg] : [];
  }

  /** Registrations whose SA pair in use is the one the UE at `address` set up with these SPIs (TS 33.203 §7.4). */
  bySa(address: string, ue: { spiC: number; spiS: number }): PcscfRegistration[] {
    const out = this.collect(this.bySaKey.get(saKey(address, ue)));
    // A registration alone at its SA's address has no SA entry: the address finds it (see `scoped`).
    const sole = this.byAddress.sole(address);
    const reg = sole === undefined ? undefined : this.byContact.get(sole)!;
    if (reg?.sa && reg.sa.ueAddress === address && !out.includes(reg) && hasUeSpis(reg.sa, ue)) out.push(reg);
    return out;
  }

  list(): PcscfRegistration[] {
    return [...this.byContact.values()];
  }

  get size(): number {
    return this.byContact.size;
  }

  /** Cancels every timer; registrations are dropped without notice to anyone but the changes stream. */
  clear(): void {
    this.expiries.clear();
    for (const reg of [...this.byContact.values()]) this.changes.next({ kind: 'removed', registration: reg, reason: 'stopped' });
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

  private collect(keys: Iterable<string> | undefined): PcscfRegistration[] {
    const out: PcscfRegistration[] = [];
    if (keys) for (const key of keys) out.push(this.byContact.get(key)!);
    return out;
  }

  /**
   * Moves a contact from its old index entries to its new ones; a refresh that keeps them keeps its place.
   * Address+port and SA entries are kept only where the address alone does not find the registration (see
   * `scoped`), so a registration joining or leaving an address may give or take entries of the one beside it.
   */
  private reindex(key: string, from: PcscfRegistration | undefined, to: PcscfRegistration | undefined): void {
    const oldAddress = from?.ue.address;
    const newAddress = to?.ue.address;
    const before = from ? this.scoped(from, this.byAddress.count(from.ue.address) > 1) : [];
    if (oldAddress !== newAddress) {
      if (oldAddress !== undefined) {
        const shared = this.byAddress.count(oldAddress) > 1;
        this.byAddress.remove(oldAddress, key);
        this.restate(oldAddress, shared, key);
      }
      if (newAddress !== undefined) {
        const shared = this.byAddress.count(newAddress) > 1;
        this.byAddress.add(newAddress, key);
        // From one registration to two: the earlier gets its entries first (the order `list()` has).
        this.restate(newAddress, shared, key);
      }
    }
    const after = to ? this.scoped(to, this.byAddress.count(to.ue.address) > 1) : [];
    this.move(key, before, after);
    const impusBefore = from ? impuKeys(from) : [];
    const impusAfter = to ? impuKeys(to) : [];
    for (const u of impusBefore) if (!impusAfter.includes(u)) this.byImpuKey.remove(u, key);
    for (const u of impusAfter) if (!impusBefore.includes(u)) this.byImpuKey.add(u, key);
  }

  /**
   * The address-scoped entries a registration needs (issue 7: a UE with an address of its own, the common case,
   * needs none): address+port where several registrations share the address (NAT, load generators), and its SA
   * pair where the address does not find it alone, shared or not its SA's (TS 33.203 §7.1: the SA's address).
   */
  private scoped(reg: PcscfRegistration, shared: boolean): ScopedEntry[] {
    const out: ScopedEntry[] = [];
    if (shared) out.push({ index: this.byEndpoint, value: endpointKey(reg.ue.address, reg.ue.port) });
    if (reg.sa && (shared || reg.sa.ueAddress !== reg.ue.address)) out.push({ index: this.bySaKey, value: saKeyOf(reg.sa) });
    return out;
  }

  /** The other registrations at `address` when it went from one to several or back: their entries follow. */
  private restate(address: string, wasShared: boolean, except: string): void {
    const shared = this.byAddress.count(address) > 1;
    if (shared === wasShared) return;
    for (const other of [...(this.byAddress.get(address) ?? [])]) {
      if (other === except) continue;
      const reg = this.byContact.get(other)!;
      this.move(other, this.scoped(reg, wasShared), this.scoped(reg, shared));
    }
  }

  private move(key: string, before: readonly ScopedEntry[], after: readonly ScopedEntry[]): void {
    const same = (a: ScopedEntry, b: ScopedEntry) => a.index === b.index && a.value === b.value;
    for (const e of before) if (!after.some((a) => same(a, e))) e.index.remove(e.value, key);
    for (const e of after) if (!before.some((b) => same(b, e))) e.index.add(e.value, key);
  }
}
