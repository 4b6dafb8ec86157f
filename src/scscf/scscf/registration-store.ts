import type { TransportAddress } from '../../sip/transport/types.js';
import { parseUserProfile, type UserProfile } from '../user-profile.js';
import { publicIdentityKey } from '../../sip/public-identity.js';
import { parseUint, unquote } from '../../sip/headers/lexical.js';
import { Interner } from '../../util/interner.js';
import { ownString } from '../../util/own-string.js';
import { smallOffset } from '../../util/small-integer.js';
import { cutUserData, joinUserData, UserDataTemplates, type UserDataTemplate } from '../user-data-template.js';

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
   * The store's own copy of a held IMPI (one string for the store and whoever keys something on it for as
   * long as the registration lives, such as the registrar's expiry deadline); undefined when none is held.
   */
  heldImpi?(impi: string): string | undefined;
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

/**
 * A contact binding as the store keeps it: the same fields, with the values that repeat across UEs (Path
 * behind one P-CSCF, the address it came from, parameter names) shared instead of copied per UE, and
 * `instance` / `regId` left out when they are what the +sip.instance / reg-id parameters say (RFC 5626 §4.1:
 * the fields are read from those parameters; `instance` is kept only when it says something else, even nothing).
 */
class HeldContact {
  /**
   * name, value, name, value …: one array where the binding has one per parameter, shared by every binding
   * with the same parameters (a handset model's feature tags, reg-id): the +sip.instance value, one per UE
   * (RFC 5626 §4.1), stands there as INSTANCE and is held in `instanceParam`.
   */
  params: ReadonlyArray<string | null> = EMPTY;
  /** Times as offsets from the store's epoch (MemoryRegistrationStore.epoch) unless `absoluteTimes`. */
  expiresAt = 0;
  registeredAt = 0;
  declare displayName?: string;
  declare instance?: string;
  declare regId?: number;
  declare q?: number;
  /** The +sip.instance value as written, when `params` holds INSTANCE in its place. */
  declare instanceParam?: string;
  /** Set when a time does not come back exactly as an offset from the store's epoch (not whole ms): times held as given. */
  declare absoluteTimes?: true;

  /**
   * uri, NUL, callId, NUL, id: the three strings of the binding that are its own, as one string of the store's
   * (issue 7: a string costs 16 bytes besides its text, and a field 8). When one of them holds a NUL (no
   * Contact URI, Call-ID or token the parsers give does), the uri alone, and the other two in `loose`.
   */
  private readonly text: string;
  declare private loose?: { readonly callId: string; readonly id: string };

  // A class of its own, not an object literal: a literal with the same keys in the same order shares its
  // shape with the callers' bindings, whose epoch-ms times turn the time fields into boxed doubles.
  constructor(
    uri: string,
    callId: string,
    readonly cseq: number,
    /** The Path and the last hop: shared by every binding that came the same way (one per P-CSCF). */
    private readonly hop: Hop,
    id: string,
  ) {
    if (uri.includes(SEPARATOR) || callId.includes(SEPARATOR) || id.includes(SEPARATOR)) {
      this.text = ownString(uri);
      this.loose = { callId: ownString(callId), id: ownString(id) };
    } else this.text = ownString(`${uri}${SEPARATOR}${callId}${SEPARATOR}${id}`);
  }

  get path(): string[] {
    return this.hop.path;
  }

  get receivedFrom(): TransportAddress {
    return this.hop.receivedFrom;
  }

  get uri(): string {
    return this.loose ? this.text : this.text.slice(0, this.text.indexOf(SEPARATOR));
  }

  get callId(): string {
    if (this.loose) return this.loose.callId;
    const from = this.text.indexOf(SEPARATOR) + 1;
    return this.text.slice(from, this.text.indexOf(SEPARATOR, from));
  }

  get id(): string {
    return this.loose ? this.loose.id : this.text.slice(this.text.lastIndexOf(SEPARATOR) + 1);
  }
}

const SEPARATOR = '\u0000';

/** The way a REGISTER came: its Path (RFC 3327 §5.3) and the address it came from. Never changed in place. */
interface Hop {
  readonly path: string[];
  readonly receivedFrom: TransportAddress;
}

/** What a registration rarely has: barred identities, or a number of contacts other than one. */
interface Rare {
  readonly barred: string[];
  /** undefined: the record's own contact fields are its one contact. */
  readonly contacts: HeldContact[] | undefined;
}

/**
 * Where a shared parameter list holds the binding's own +sip.instance value. No parameter value the Contact
 * parser gives is a lone NUL (RFC 3261 §25.1); a binding that has one anyway keeps its list to itself.
 */
const INSTANCE = '\u0000';

/**
 * What the store keeps of one subscription. A million must fit beside the HSS and the P-CSCF in about 2 KiB
 * per UE (issue 7), and V8 spends 40–100 bytes per small object, so: not the User-Data document but its
 * template (user-data-template.ts: shared by every subscriber provisioned alike) with the identities the
 * registration holds anyway, the parsed profile rebuilt on demand (the recently used ones cached), the
 * reginfo ids as one string beside `impus`, a lone IMPU as itself rather than in a list of one, and a lone
 * contact (a UE registers one, TS 24.229 §5.1.1.2) in the registration's own fields rather than in an object
 * of its own: the record is a HeldContact too. Every string is the store's own copy (util/own-string.ts), not
 * a view into the message it was parsed from.
 */
class HeldRegistration extends HeldContact {
  constructor(
    contact: { uri: string; callId: string; cseq: number; hop: Hop; id: string } | undefined,
    readonly impi: string,
    /** The implicit set in profile order: the identity itself when it is the only one. */
    readonly impus: string | string[],
    barred: string[],
    /** The User-Data's template, joined with impi and impus to give it back; the document itself when it does not cut. */
    readonly userData: UserDataTemplate | string,
    /** The reginfo ids of impus[0], impus[1] … joined by spaces; a record when they are not keyed by exactly the impus. */
    readonly ids: string | Record<string, string>,
    /** The contacts when there is not exactly one; undefined: the record's own contact fields are the one. */
    contacts: HeldContact[] | undefined,
  ) {
    super(contact?.uri ?? '', contact?.callId ?? '', contact?.cseq ?? 0, contact?.hop ?? NOWHERE, contact?.id ?? '');
    this.rare = barred.length === 0 && contacts === undefined ? undefined : { barred, contacts };
  }

  /** Barred identities and a list of contacts in one field, left out when there are none and one contact. */
  private readonly rare: Rare | undefined;

  get barred(): string[] {
    return this.rare?.barred ?? EMPTY;
  }

  get contacts(): HeldContact[] | undefined {
    return this.rare?.contacts;
  }
}

/** Parsed profiles kept for the subscriptions used last: terminating requests read the same few often. */
const PROFILE_CACHE = 1024;

export class MemoryRegistrationStore implements RegistrationStore {
  /**
   * Every registration by the key of each of its IMPUs (impuKey), and, only when none of those keys is
   * `sip:` + its IMPI (see derivedKey), by its IMPI here: the usual subscription's default IMPU is its IMPI
   * as a SIP URI (TS 23.003 §13.4B names such a derived IMPU), so one Map entry per subscription finds it both
   * ways rather than two (issue 7). A registration is in `regs` exactly when index.get(derivedKey(impi)) is
   * not itself.
   */
  private readonly regs = new Map<string, HeldRegistration>();
  private readonly index = new Map<string, HeldRegistration>();
  private readonly profiles = new Map<string, UserProfile>();
  private readonly shared = new Shared();
  private readonly templates = new UserDataTemplates();
  /** Contact parameter values (bounded: values that never repeat stop being remembered). */
  private readonly values = new Interner();
  /** Contact parameter lists with the +sip.instance value left out (bounded like `values`). */
  private readonly paramLists = new Map<string, ReadonlyArray<string | null>>();
  /**
   * Binding times are held as ms from this instant (the first time the store holds): a million registrations
   * must fit in about 2 KiB each (issue 7), and an epoch-ms value is above 2^31, so V8 boxes it as a 16-byte
   * heap number per field, where an offset of less than 12 days is a small integer inside the object.
   */
  private epoch: number | undefined;

  byImpi(impi: string): SubscriptionRegistration | undefined {
    const r = this.find(impi);
    return r ? this.expand(r) : undefined;
  }

  byImpu(impu: string): SubscriptionRegistration | undefined {
    const r = this.index.get(impuKey(impu));
    return r === undefined ? undefined : this.expand(r);
  }

  put(registration: SubscriptionRegistration): void {
    this.remove(registration.impi);
    const r = registration;
    const impi = ownString(r.impi);
    const impus = r.impus.map(ownString);
    const ids = r.impus.map((u) => (Object.hasOwn(r.ids, u) ? r.ids[u]! : undefined));
    const idsByImpu = Object.keys(r.ids).length === r.impus.length && ids.every((id) => id !== undefined && id !== '' && !id.includes(' '));
    // cutUserData cuts only where the text is exactly the identity: the join gives the document back by construction.
    const template = cutUserData(r.profile.xml, r.impi, r.impus);
    const userData = template ? this.templates.share(template) : ownString(r.profile.xml);
    const single = r.contacts.length === 1 ? r.contacts[0]! : undefined;
    const held = new HeldRegistration(
      single && { uri: single.uri, callId: single.callId, cseq: single.cseq, hop: this.shared.hop(single.path, single.receivedFrom), id: single.id },
      impi,
      impus.length === 1 ? impus[0]! : impus,
      r.barred.length === 0 ? EMPTY : r.barred.map((b) => impus[r.impus.indexOf(b)] ?? ownString(b)),
      userData,
      idsByImpu ? ids.join(' ') : { ...r.ids },
      single ? undefined : r.contacts.map((c) => this.hold(c)),
    );
    if (single) this.holdDetails(single, held);
    this.cacheProfile(impi, r.profile);
    for (const u of impus) {
      const key = impuKey(u);
      const before = this.index.get(key);
      // The last registration put holds a shared IMPU (as it always did); one that was found by it as its
      // derived key is found by its IMPI from now on.
      if (before !== undefined && before !== held && key === derivedKey(before.impi) && this.regs.get(before.impi) !== before) this.regs.set(before.impi, before);
      this.index.set(key === u ? u : key, held);
    }
    if (this.index.get(derivedKey(impi)) !== held) this.regs.set(impi, held);
  }

  remove(impi: string): boolean {
    const old = this.find(impi);
    if (!old) return false;
    if (this.regs.get(impi) === old) this.regs.delete(impi);
    this.profiles.delete(impi);
    for (const u of impusOf(old)) if (this.index.get(impuKey(u)) === old) this.index.delete(impuKey(u));
    return true;
  }

  /** In no particular order. */
  list(): SubscriptionRegistration[] {
    const out: SubscriptionRegistration[] = [];
    for (const r of this.regs.values()) out.push(this.expand(r));
    for (const [key, r] of this.index) if (key === derivedKey(r.impi) && this.regs.get(r.impi) !== r) out.push(this.expand(r));
    return out;
  }

  heldImpi(impi: string): string | undefined {
    return this.find(impi)?.impi;
  }

  /** Whether a registration with at least one contact is held for this IMPI (without copying it out). */
  holdsContacts(impi: string): boolean {
    const r = this.find(impi);
    return r !== undefined && (r.contacts === undefined || r.contacts.length > 0);
  }

  /** Distinct User-Data templates held: 1 when every subscriber is provisioned alike. */
  get userDataTemplates(): number {
    return this.templates.size;
  }

  private find(impi: string): HeldRegistration | undefined {
    const r = this.regs.get(impi);
    if (r !== undefined) return r;
    const derived = this.index.get(derivedKey(impi));
    return derived !== undefined && derived.impi === impi ? derived : undefined;
  }

  private expand(r: HeldRegistration): SubscriptionRegistration {
    // A dictionary from the start (no prototype): an object literal given one IMPU key after another takes a
    // new hidden class per subscriber.
    const ids = Object.create(null) as Record<string, string>;
    if (typeof r.impus === 'string' && typeof r.ids === 'string') ids[r.impus] = r.ids;
    else if (typeof r.ids === 'string') {
      const list = r.ids.split(' ');
      for (let i = 0; i < r.impus.length; i++) ids[r.impus[i]!] = list[i]!;
    } else for (const u of Object.keys(r.ids)) ids[u] = r.ids[u]!;
    return {
      impi: r.impi,
      impus: typeof r.impus === 'string' ? [r.impus] : r.impus.slice(),
      barred: r.barred.length === 0 ? [] : r.barred.slice(),
      profile: this.profileOf(r),
      contacts: r.contacts === undefined ? [this.copyContact(r)] : r.contacts.map((c) => this.copyContact(c)),
      ids,
    };
  }

  private profileOf(r: HeldRegistration): UserProfile {
    const cached = this.profiles.get(r.impi);
    if (cached) return cached;
    // It parsed when it was put (the caller parsed it), and the join gives back the same document.
    const profile = parseUserProfile(typeof r.userData === 'string' ? r.userData : joinUserData(r.userData, r.impi, impusOf(r)));
    this.cacheProfile(r.impi, profile);
    return profile;
  }

  private cacheProfile(impi: string, profile: UserProfile): void {
    this.profiles.delete(impi);
    this.profiles.set(impi, profile);
    if (this.profiles.size > PROFILE_CACHE) this.profiles.delete(this.profiles.keys().next().value!);
  }

  /**
   * name, value, name, value … in an array of exactly that length (flatMap grows its result as push does,
   * leaving 17 slots for 8: issue 7, 72 B per binding), shared by the bindings whose parameters are the same
   * but for +sip.instance, whose value goes to `held.instanceParam`.
   */
  private holdParams(params: ReadonlyArray<[string, string | null]>, held: HeldContact): void {
    const out = new Array<string | null>(2 * params.length);
    // A value that is itself INSTANCE (no Contact parser gives one) turns the sharing off for this binding.
    const share = !params.some(([, value]) => value === INSTANCE);
    let key = '';
    for (let i = 0; i < params.length; i++) {
      const [name, value] = params[i]!;
      out[2 * i] = this.shared.string(name);
      if (share && name === '+sip.instance' && value !== null && held.instanceParam === undefined) {
        held.instanceParam = ownString(value);
        out[2 * i + 1] = INSTANCE;
      } else out[2 * i + 1] = value === null ? null : this.values.string(value);
      key += `${name}\u0000${value === null ? '\u0001' : out[2 * i + 1]}\u0000`;
    }
    const known = this.paramLists.get(key);
    if (!share) held.params = out;
    else if (known !== undefined && sameValues(known, out)) held.params = known;
    else {
      held.params = Object.freeze(out);
      if (this.paramLists.size < PARAM_LISTS) this.paramLists.set(ownString(key), held.params);
    }
  }

  /** The binding's times as the store holds them: see `epoch`. */
  private holdTimes(c: ContactBinding, held: HeldContact): void {
    this.epoch ??= Number.isFinite(c.registeredAt) ? Math.floor(c.registeredAt) : 0;
    const expires = smallOffset(c.expiresAt, this.epoch);
    const registered = smallOffset(c.registeredAt, this.epoch);
    if (expires !== undefined && registered !== undefined) {
      held.expiresAt = expires;
      held.registeredAt = registered;
    } else {
      held.expiresAt = c.expiresAt;
      held.registeredAt = c.registeredAt;
      held.absoluteTimes = true;
    }
  }

  private hold(c: ContactBinding): HeldContact {
    const held = this.heldContact(c);
    this.holdDetails(c, held);
    return held;
  }

  /** The binding's fixed fields, as a HeldContact of their own (a HeldRegistration takes them from it). */
  private heldContact(c: ContactBinding): HeldContact {
    return new HeldContact(c.uri, c.callId, c.cseq, this.shared.hop(c.path, c.receivedFrom), c.id);
  }

  /** The rest of the binding (times, parameters, what RFC 5626 reads from them) into `held`. */
  private holdDetails(c: ContactBinding, held: HeldContact): void {
    this.holdTimes(c, held);
    // Feature tags (+g.3gpp.icsi-ref …) repeat across every handset of a kind: their values are shared too,
    // all but +sip.instance, which is one per UE (RFC 5626 §4.1) and would only fill the interner.
    if (c.params.length > 0) this.holdParams(c.params, held);
    if (c.displayName !== undefined) held.displayName = ownString(c.displayName);
    if (c.instance !== instanceOf(held)) held.instance = c.instance === undefined ? undefined : ownString(c.instance);
    if (c.regId !== regIdOf(held)) held.regId = c.regId;
    if (c.q !== undefined) held.q = c.q;
  }

  private copyContact(c: HeldContact): ContactBinding {
    const params: Array<[string, string | null]> = [];
    for (let i = 0; i < c.params.length; i += 2) params.push([c.params[i]!, c.params[i + 1] === INSTANCE && c.instanceParam !== undefined ? c.instanceParam : (c.params[i + 1] ?? null)]);
    const epoch = c.absoluteTimes ? 0 : this.epoch!;
    // Field by field, not a rest spread of the held object (the generic copy path, several times slower).
    const out: ContactBinding = {
      uri: c.uri,
      params,
      expiresAt: c.expiresAt + epoch,
      registeredAt: c.registeredAt + epoch,
      callId: c.callId,
      cseq: c.cseq,
      // A copy made by hand: the held list is frozen (shared), and slice() of a frozen array takes V8's slow path (≈ 20×).
      path: copyList(c.path),
      receivedFrom: { transport: c.receivedFrom.transport, address: c.receivedFrom.address, port: c.receivedFrom.port },
      id: c.id,
    };
    if (c.displayName !== undefined) out.displayName = c.displayName;
    if (c.q !== undefined) out.q = c.q;
    if (Object.hasOwn(c, 'instance')) out.instance = c.instance;
    if (Object.hasOwn(c, 'regId')) out.regId = c.regId;
    if (!Object.hasOwn(c, 'instance')) {
      const instance = instanceOf(c);
      if (instance !== undefined) out.instance = instance;
    }
    if (!Object.hasOwn(c, 'regId')) {
      const regId = regIdOf(c);
      if (regId !== undefined) out.regId = regId;
    }
    return out;
  }
}

/** Element by element (a loop: every() on a frozen array takes V8's slow path). */
function sameValues(a: ReadonlyArray<string | null>, b: ReadonlyArray<string | null>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function copyList(list: readonly string[]): string[] {
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = list[i]!;
  return out;
}

/** Distinct contact parameter lists remembered for sharing; past it a list is the binding's own. */
const PARAM_LISTS = 4096;

const EMPTY: string[] = Object.freeze([]) as unknown as string[];

/** The hop of a registration record whose contacts are in its list (none, or more than one). */
const NOWHERE: Hop = Object.freeze({ path: EMPTY, receivedFrom: Object.freeze({ transport: 'udp', address: '', port: 0 }) });

/** Distinct hops remembered for sharing; past it a binding's hop is its own (of shared parts). */
const HOPS = 4096;

/**
 * The index key a registration is found by its IMPI under when its IMPU `sip:` + IMPI is in its set (as
 * impuKey gives it for an IMPI with a lower-case realm and nothing after it; any other IMPI is simply in
 * `regs`). A hint only: what is found is checked to be of that IMPI.
 */
function derivedKey(impi: string): string {
  return `sip:${impi}`;
}

function impusOf(r: HeldRegistration): readonly string[] {
  return typeof r.impus === 'string' ? [r.impus] : r.impus;
}

function paramOf(c: HeldContact, name: string): string | null | undefined {
  const params = c.params;
  for (let i = 0; i < params.length; i += 2) if (params[i] === name) return params[i + 1] === INSTANCE && c.instanceParam !== undefined ? c.instanceParam : (params[i + 1] ?? null);
  return undefined;
}

/** +sip.instance as the Contact parser reads it (RFC 5626 §4.1: the value unquoted). */
function instanceOf(c: HeldContact): string | undefined {
  const v = paramOf(c, '+sip.instance');
  return v == null ? undefined : unquote(v);
}

/** reg-id as the Contact parser reads it (RFC 5626 §4.2: a positive integer). */
function regIdOf(c: HeldContact): number | undefined {
  const v = paramOf(c, 'reg-id');
  const n = v == null ? undefined : parseUint(v, 0xffffffff);
  return n === 0 ? undefined : n;
}

/** One copy of each value that repeats across registrations; held values are never changed in place. */
class Shared {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, string[]>();
  private readonly addresses = new Map<string, TransportAddress>();

  string(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    const own = ownString(value);
    this.strings.set(own, own);
    return own;
  }

  list(values: string[]): string[] {
    if (values.length === 0) return EMPTY;
    const key = values.join('\n');
    let known = this.lists.get(key);
    if (!known) this.lists.set(ownString(key), (known = Object.freeze(values.map(ownString)) as string[]));
    return known;
  }

  private readonly hops = new Map<string, Hop>();

  hop(path: string[], receivedFrom: TransportAddress): Hop {
    const shared = { path: this.list(path), receivedFrom: this.address(receivedFrom) };
    // The parts are shared, so the pair is told by their identity: a key of the two keys, checked part by part.
    const key = `${path.join('\n')}\n\n${receivedFrom.transport} ${receivedFrom.address} ${receivedFrom.port}`;
    const known = this.hops.get(key);
    if (known !== undefined && known.path === shared.path && known.receivedFrom === shared.receivedFrom) return known;
    const hop = Object.freeze(shared);
    if (this.hops.size < HOPS) this.hops.set(ownString(key), hop);
    return hop;
  }

  address(a: TransportAddress): TransportAddress {
    const key = `${a.transport} ${a.address} ${a.port}`;
    let known = this.addresses.get(key);
    if (!known) this.addresses.set(ownString(key), (known = Object.freeze({ transport: a.transport, address: ownString(a.address), port: a.port })));
    return known;
  }
}
