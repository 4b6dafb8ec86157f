/**
 * What the P-CSCF keeps of each registered contact (TS 24.229 §5.2.2.1 after the 200): the public identities
 * of the implicit set (P-Associated-URI, the first is the default), the Service-Route, where the UE is (address,
 * port, transport, connection), the SA in use, and when it expires. Sessions (§5.2.6) read it to assert
 * identities and to check routes; it expires on its own timer.
 */
import { Subject, type Observable } from 'rxjs';
import type { TransportAddress, TransportProtocol } from '../sip/transport/types.js';
import type { Clock } from '../util/clock.js';
import { DeadlineQueue } from '../util/deadline-queue.js';
import { Interner } from '../util/interner.js';
import { ownString } from '../util/own-string.js';
import { smallOffset } from '../util/small-integer.js';
import { hasUeSpis, ueSpis, type SecurityAssociation } from './security-associations.js';

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

/** The transports a registration may have come over, as the packed `code` of HeldRegistration numbers them. */
const TRANSPORTS: readonly TransportProtocol[] = ['udp', 'tcp', 'tls'];
const AUTHENTICATIONS: readonly (PcscfRegistration['authentication'] | undefined)[] = [undefined, 'ims-aka', 'sip-digest'];
/**
 * Bits of HeldRegistration's `code`: port (RFC 768: 16 bits), transport, authentication, one flag per time held
 * absolute, and whether the IMPI is the SA's.
 */
const TRANSPORT_SHIFT = 16;
const AUTHENTICATION_SHIFT = 18;
const ABSOLUTE_REGISTERED = 1 << 20;
const ABSOLUTE_REFRESHED = 1 << 21;
const ABSOLUTE_EXPIRES = 1 << 22;
const IMPI_IN_SA = 1 << 23;

/** What HeldRegistration counts its times from: the first time a registration of this process held. */
let timeEpoch: number | undefined;

/**
 * A clock time as HeldRegistration holds it: ms from `timeEpoch` as a small integer, which V8 keeps inside the
 * object, where an epoch-ms time (above 2^31) is a boxed double of 16 bytes more per field (issue 7: three per
 * registration). Undefined when the offset would not give the time back exactly (fractional, far off).
 */
function timeOffset(t: number): number | undefined {
  timeEpoch ??= Number.isFinite(t) ? Math.floor(t) : 0;
  return smallOffset(t, timeEpoch);
}

/**
 * The registration as the cache keeps it (issue 7: memory per registered UE): the same fields, every string its
 * own copy rather than a view into the REGISTER or 200 it was cut from (util/own-string.ts: such a view keeps
 * the whole message, ≈ 1 KB each), the Service-Route and Path every UE behind one S-CSCF shares held once
 * (util/interner.ts), a value that occurs twice (the registered IMPU among the implicit set, the UE's address
 * and IMPI in its SA, the address of UEs behind one NAT) held once, and optional fields set in the constructor
 * so that V8 keeps them inside the object.
 *
 * What would be an object or a boxed number of its own is held as plain fields and read through accessors:
 * the UE's transport address (`ue`, an object of three fields) as its address and one small integer with the
 * port, transport and authentication; the implicit set as its one IMPU when it has one (an array costs ≈ 56 B);
 * the registered IMPU as the first of that set when it is, as it usually is; the three times as small offsets
 * (see timeOffset). Nothing a caller does to what it reads reaches the cache: `ue` and an implicit set of one
 * are built on each read, an implicit set of several is frozen. The accessors live on the prototype: a
 * registration is read field by field, not spread or serialised (control/commands.ts builds its own view).
 */
class HeldRegistration implements PcscfRegistration {
  readonly contact: string;
  declare readonly instance?: string;
  /** The IMPI when it is not the one of the SA in use (IMPI_IN_SA: the SA's, fixed since the 401 went out). */
  declare private ownImpi?: string;
  private readonly identities: string | readonly string[];
  /** The registered IMPU when it is not the first of the implicit set (RFC 7315 §4.1: it usually is). */
  declare private otherRegistered?: string;
  private readonly routes: RouteSet;
  /** The UE's address, the same string as every other registration from that address (RegistrationCache.put). */
  readonly ueAddress: string;
  /** Port, transport, authentication and which times are held absolute (the *_SHIFT and ABSOLUTE_* bits). */
  private readonly code: number;
  declare readonly connectionId?: string;
  readonly callId: string;
  private readonly registered: number;
  private readonly refreshed: number;
  private readonly expires: number;
  declare readonly sa?: SecurityAssociation;

  constructor(reg: PcscfRegistration, ueAddress: string, routes: RouteSet) {
    const optional = this as { -readonly [K in keyof PcscfRegistration]: PcscfRegistration[K] };
    // What the packing holds, and all RFC 768 allows: refuse the rest before anything is kept.
    const transport = TRANSPORTS.indexOf(reg.ue.transport);
    if (transport < 0) throw new RangeError(`transport ${reg.ue.transport} is not one of ${TRANSPORTS.join(', ')}`);
    const port = reg.ue.port;
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new RangeError(`port ${port} is not a 16-bit unsigned integer`);
    const authentication = AUTHENTICATIONS.indexOf(reg.authentication);
    if (authentication < 0) throw new RangeError(`authentication ${reg.authentication} is not ims-aka or sip-digest`);
    this.contact = ownString(reg.contact);
    if (reg.instance !== undefined) optional.instance = ownString(reg.instance);
    const impiInSa = reg.impi !== undefined && reg.sa?.impi === reg.impi;
    if (reg.impi !== undefined && !impiInSa) this.ownImpi = ownString(reg.impi);
    const impus = reg.impus.length === 1 ? ownString(reg.impus[0]!) : Object.freeze(reg.impus.map(ownString));
    this.identities = impus;
    const first = typeof impus === 'string' ? impus : impus[0];
    if (first !== reg.registeredImpu) {
      const other = typeof impus === 'string' ? undefined : impus.find((u) => u === reg.registeredImpu);
      this.otherRegistered = other ?? ownString(reg.registeredImpu);
    }
    this.routes = routes;
    this.ueAddress = ueAddress;
    if (reg.connectionId !== undefined) optional.connectionId = ownString(reg.connectionId);
    this.callId = ownString(reg.callId);
    let code = port | (transport << TRANSPORT_SHIFT) | (authentication << AUTHENTICATION_SHIFT) | (impiInSa ? IMPI_IN_SA : 0);
    const registered = timeOffset(reg.registeredAt);
    const refreshed = timeOffset(reg.refreshedAt);
    const expires = timeOffset(reg.expiresAt);
    if (registered === undefined) code |= ABSOLUTE_REGISTERED;
    if (refreshed === undefined) code |= ABSOLUTE_REFRESHED;
    if (expires === undefined) code |= ABSOLUTE_EXPIRES;
    this.code = code;
    this.registered = registered ?? reg.registeredAt;
    this.refreshed = refreshed ?? reg.refreshedAt;
    this.expires = expires ?? reg.expiresAt;
    if (reg.sa !== undefined) optional.sa = reg.sa;
  }

  get impus(): readonly string[] {
    const held = this.identities;
    return typeof held === 'string' ? [held] : held;
  }

  get impi(): string | undefined {
    return this.code & IMPI_IN_SA ? this.sa!.impi : this.ownImpi;
  }

  get serviceRoute(): readonly string[] {
    return this.routes.serviceRoute;
  }

  get path(): string {
    return this.routes.path;
  }

  get registeredImpu(): string {
    const held = this.identities;
    return this.otherRegistered ?? (typeof held === 'string' ? held : held[0]!);
  }

  get ue(): TransportAddress {
    return { transport: TRANSPORTS[(this.code >> TRANSPORT_SHIFT) & 3]!, address: this.ueAddress, port: this.code & 0xffff };
  }

  get authentication(): PcscfRegistration['authentication'] {
    return AUTHENTICATIONS[(this.code >> AUTHENTICATION_SHIFT) & 3];
  }

  get registeredAt(): number {
    return this.code & ABSOLUTE_REGISTERED ? this.registered : this.registered + timeEpoch!;
  }

  get refreshedAt(): number {
    return this.code & ABSOLUTE_REFRESHED ? this.refreshed : this.refreshed + timeEpoch!;
  }

  get expiresAt(): number {
    return this.code & ABSOLUTE_EXPIRES ? this.expires : this.expires + timeEpoch!;
  }

  /** The UE's port, read without building `ue`. */
  get uePort(): number {
    return this.code & 0xffff;
  }
}

/** A registration's Service-Route (RFC 3608 §6) and the P-CSCF's Path (RFC 3327 §5) value. */
interface RouteSet {
  readonly serviceRoute: readonly string[];
  readonly path: string;
}

/**
 * One RouteSet for every registration through the same S-CSCF and P-CSCF, which one field of each registration
 * points to instead of two (issue 7). Bounded as the Interner is: past `limit` pairs, a pair is only copied.
 */
class RouteSets {
  private readonly shared = new Interner();
  private readonly sets = new Map<string, RouteSet>();

  constructor(private readonly limit = 4096) {}

  of(serviceRoute: readonly string[], path: string): RouteSet {
    const key = serviceRoute.length === 0 ? path : [path, ...serviceRoute].join('\n');
    const known = this.sets.get(key);
    if (known && known.path === path && known.serviceRoute.length === serviceRoute.length && known.serviceRoute.every((v, i) => v === serviceRoute[i])) return known;
    const set: RouteSet = Object.freeze({ serviceRoute: this.shared.list(serviceRoute), path: this.shared.string(path) });
    if (this.sets.size < this.limit) this.sets.set(ownString(key), set);
    return set;
  }
}

/** Contacts compared as written, the host part case-insensitively (RFC 3261 §19.1.4 would also ignore order of params). */
export function contactKey(contact: string): string {
  return contact.trim().toLowerCase();
}

/**
 * Contact keys under a lookup value, in insertion order. Most values (a UE's address, its IMPUs, its SA pair)
 * lead to one contact, and a Set costs ≈ 230 bytes where a string costs nothing more (issue 7: memory per
 * registered UE), so a value holds its one key as a string and a Set only from the second.
 */
class Index<V extends string | number> {
  private readonly at = new Map<V, string | Set<string>>();

  /** Whether `key` was not there before. */
  add(value: V, key: string): boolean {
    const held = this.at.get(value);
    if (held === undefined) this.at.set(value, key);
    else if (typeof held === 'string') {
      if (held === key) return false;
      this.at.set(value, new Set([held, key]));
    } else {
      if (held.has(key)) return false;
      held.add(key);
    }
    return true;
  }

  /** Whether `key` was there. */
  remove(value: V, key: string): boolean {
    const held = this.at.get(value);
    if (held === undefined) return false;
    if (typeof held === 'string') {
      if (held !== key) return false;
      this.at.delete(value);
      return true;
    }
    if (!held.delete(key)) return false;
    if (held.size === 1) this.at.set(value, held.values().next().value!);
    return true;
  }

  get(value: V): Iterable<string> | undefined {
    const held = this.at.get(value);
    return typeof held === 'string' ? [held] : held;
  }

  values(): IterableIterator<string | Set<string>> {
    return this.at.values();
  }

  clear(): void {
    this.at.clear();
  }
}

/** The registrations at one UE address when there are several (NAT, a load generator), by port. */
class SharedAddress {
  /** Registrations at the address, over all ports. */
  count = 0;
  readonly byPort = new Index<number>();
  constructor(readonly address: string) {}
}

/**
 * Registrations by UE address, then port (TS 24.229 §5.2.2.1 and §5.2.6.3 find the UE's registrations by the
 * address and port a request came from). An address with one registration, the common case, holds its contact
 * key alone; one with several holds them by port, so that a UE behind a NAT is found by its port among
 * thousands and a registration costs one entry here, not one by address and another by address and port
 * (issue 7). The address string held is the one every registration from that address shares.
 */
class UeAddresses {
  private readonly at = new Map<string, string | SharedAddress>();

  /** `portOf` gives the port of the registration already alone at `address`, which moves into its port's entry. */
  add(address: string, port: number, key: string, portOf: (key: string) => number): void {
    const held = this.at.get(address);
    if (held === undefined) {
      this.at.set(address, key);
      return;
    }
    let shared: SharedAddress;
    if (typeof held === 'string') {
      if (held === key) return;
      shared = new SharedAddress(address);
      shared.byPort.add(portOf(held), held);
      shared.count = 1;
      this.at.set(address, shared);
    } else shared = held;
    if (shared.byPort.add(port, key)) shared.count++;
  }

  remove(address: string, port: number, key: string): void {
    const held = this.at.get(address);
    if (held === undefined) return;
    if (typeof held === 'string') {
      if (held === key) this.at.delete(address);
      return;
    }
    if (!held.byPort.remove(port, key)) return;
    if (--held.count === 1) {
      for (const keys of held.byPort.values()) this.at.set(address, typeof keys === 'string' ? keys : keys.values().next().value!);
    }
  }

  /** Registrations at `address` (on `port` when given); without a port, port by port in the order they came. */
  get(address: string, port?: number): Iterable<string> | undefined {
    const held = this.at.get(address);
    if (held === undefined || typeof held === 'string') return held === undefined ? undefined : [held];
    if (port !== undefined) return held.byPort.get(port);
    const out: string[] = [];
    for (const keys of held.byPort.values()) {
      if (typeof keys === 'string') out.push(keys);
      else for (const k of keys) out.push(k);
    }
    return out;
  }

  /** The one key at `address`, or undefined when there are none or several. */
  sole(address: string): string | undefined {
    const held = this.at.get(address);
    return typeof held === 'string' ? held : undefined;
  }

  count(address: string): number {
    const held = this.at.get(address);
    return held === undefined ? 0 : typeof held === 'string' ? 1 : held.count;
  }

  /** The shared address string of several registrations at `address`, when there are several. */
  sharedAddress(address: string): string | undefined {
    const held = this.at.get(address);
    return typeof held === 'object' ? held.address : undefined;
  }

  clear(): void {
    this.at.clear();
  }
}

/**
 * Where a registration's SA pair sits in the SA index: its address and the UE's SPIs (RFC 4301 §4.1) hashed to
 * a small integer, which a Map holds without a key string of its own (issue 7: an `address|spi-c|spi-s` key was
 * ≈ 56 bytes per registration). Pairs that hash alike share an entry; `bySa` checks each registration's own.
 */
export function saIndexKey(address: string, ue: { spiC: number; spiS: number }): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < address.length; i++) h = Math.imul(h ^ address.charCodeAt(i), 0x01000193);
  // Each SPI mixed through all 32 bits, so that SPIs that follow a pattern (spi-s = spi-c + 1) do not collide.
  h = mix32(h ^ ue.spiC);
  h = mix32(h ^ ue.spiS);
  return h & 0x3fffffff;
}

/** A 32-bit finaliser (every input bit reaches every output bit): the final step of MurmurHash3, public domain. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function saIndexKeyOf(sa: SecurityAssociation): number {
  return saIndexKey(sa.ueAddress, ueSpis(sa));
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

/**
 * Registrations by contact, with indexes by UE address and port, by IMPU and by SA: every REGISTER and every
 * request from a UE looks its registrations up (§5.2.2.1 SA choice, §5.2.6.3 asserted identity), so a lookup
 * costs the registrations it returns, not the size of the cache.
 */
export class RegistrationCache {
  /** Index keys are derived from the registration each time, not kept beside it: one record per contact. */
  private readonly byContact = new Map<string, HeldRegistration>();
  /** One timer for every expiry, not one per registration (src/util/deadline-queue.ts). */
  private readonly expiries: DeadlineQueue<string>;
  private readonly byAddress = new UeAddresses();
  private readonly byImpuKey = new Index<string>();
  /** SA pairs, for registrations the address does not find alone (see `saEntry`). */
  private readonly bySaKey = new Index<number>();
  private readonly changes = new Subject<RegistrationChange>();
  /** Service-Routes and Paths, shared by every registration through the same S-CSCF and P-CSCF. */
  private readonly routeSets = new RouteSets();
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
   * copy (see HeldRegistration): what `get` and the changes stream give is equal to `given`, not the same
   * object. A registration the cache cannot hold (a port beyond 16 bits) is refused with a RangeError and
   * changes nothing.
   */
  put(given: PcscfRegistration): void {
    const reg = new HeldRegistration(given, this.heldAddress(given), this.routeSets.of(given.serviceRoute, given.path));
    // The SA in use names the same address: one string for both (TS 33.203 §7.1, the SA's remote address).
    if (reg.sa && reg.sa.ueAddress === reg.ueAddress) reg.sa.ueAddress = reg.ueAddress;
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

  /**
   * Registrations made from one UE address (and port, when given). Those on one port come in the order they
   * were registered; without a port, port by port.
   */
  byUe(address: string, port?: number): PcscfRegistration[] {
    if (port === undefined) return this.collect(this.byAddress.get(address));
    const sole = this.byAddress.sole(address);
    if (sole === undefined) return this.collect(this.byAddress.get(address, port));
    const reg = this.byContact.get(sole)!;
    return reg.uePort === port ? [reg] : [];
  }

  /** Registrations whose SA pair in use is the one the UE at `address` set up with these SPIs (TS 33.203 §7.4). */
  bySa(address: string, ue: { spiC: number; spiS: number }): PcscfRegistration[] {
    const out: PcscfRegistration[] = [];
    // Keys that hash alike share an entry: each registration's own SA says whether it is this one.
    for (const key of this.bySaKey.get(saIndexKey(address, ue)) ?? []) {
      const reg = this.byContact.get(key)!;
      if (reg.sa && reg.sa.ueAddress === address && hasUeSpis(reg.sa, ue)) out.push(reg);
    }
    // A registration alone at its SA's address has no SA entry: the address finds it (see `saEntry`).
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
    this.byImpuKey.clear();
    this.bySaKey.clear();
  }

  close(): void {
    this.clear();
    this.changes.complete();
  }

  /** The UE's address as held: the string the registrations already at that address share, else its own copy. */
  private heldAddress(given: PcscfRegistration): string {
    const address = given.ue.address;
    const shared = this.byAddress.sharedAddress(address);
    if (shared !== undefined) return shared;
    const sole = this.byAddress.sole(address);
    if (sole !== undefined) return this.byContact.get(sole)!.ueAddress;
    return given.sa?.ueAddress === address ? given.sa.ueAddress : ownString(address);
  }

  private collect(keys: Iterable<string> | undefined): PcscfRegistration[] {
    const out: PcscfRegistration[] = [];
    if (keys) for (const key of keys) out.push(this.byContact.get(key)!);
    return out;
  }

  /**
   * Moves a contact from its old index entries to its new ones; a refresh that keeps them keeps its place.
   * SA entries are kept only where the address alone does not find the registration (see `saEntry`), so a
   * registration joining or leaving an address may give or take the entries of the one beside it.
   */
  private reindex(key: string, from: HeldRegistration | undefined, to: HeldRegistration | undefined): void {
    const before = from ? this.saEntry(from, this.byAddress.count(from.ueAddress) > 1) : undefined;
    const moved = from?.ueAddress !== to?.ueAddress;
    if (from && (moved || from.uePort !== to!.uePort)) {
      const shared = this.byAddress.count(from.ueAddress) > 1;
      this.byAddress.remove(from.ueAddress, from.uePort, key);
      if (moved) this.restate(from.ueAddress, shared, key);
    }
    if (to && (!from || moved || from.uePort !== to.uePort)) {
      const shared = this.byAddress.count(to.ueAddress) > 1;
      this.byAddress.add(to.ueAddress, to.uePort, key, (other) => this.byContact.get(other)!.uePort);
      // From one registration to two: the earlier gets its entries first.
      if (moved) this.restate(to.ueAddress, shared, key);
    }
    const after = to ? this.saEntry(to, this.byAddress.count(to.ueAddress) > 1) : undefined;
    if (before !== after) {
      if (before !== undefined) this.bySaKey.remove(before, key);
      if (after !== undefined) this.bySaKey.add(after, key);
    }
    const impusBefore = from ? impuKeys(from) : [];
    const impusAfter = to ? impuKeys(to) : [];
    for (const u of impusBefore) if (!impusAfter.includes(u)) this.byImpuKey.remove(u, key);
    for (const u of impusAfter) if (!impusBefore.includes(u)) this.byImpuKey.add(u, key);
  }

  /**
   * The SA entry a registration needs, if any (issue 7: a UE with an address of its own, the common case, needs
   * none): where several registrations share the address (NAT, load generators), or the address is not its
   * SA's (TS 33.203 §7.1: the SA's address), the address alone does not find it by its SA.
   */
  private saEntry(reg: HeldRegistration, shared: boolean): number | undefined {
    return reg.sa && (shared || reg.sa.ueAddress !== reg.ueAddress) ? saIndexKeyOf(reg.sa) : undefined;
  }

  /** The other registrations at `address` when it went from one to several or back: their SA entries follow. */
  private restate(address: string, wasShared: boolean, except: string): void {
    const shared = this.byAddress.count(address) > 1;
    if (shared === wasShared) return;
    for (const other of [...(this.byAddress.get(address) ?? [])]) {
      if (other === except) continue;
      const reg = this.byContact.get(other)!;
      const before = this.saEntry(reg, wasShared);
      const after = this.saEntry(reg, shared);
      if (before === after) continue;
      if (before !== undefined) this.bySaKey.remove(before, other);
      if (after !== undefined) this.bySaKey.add(after, other);
    }
  }
}
