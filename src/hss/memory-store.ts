import { ownString } from '../util/own-string.js';
import { StoreError, type SubscriberStore } from './store.js';
import {
  normaliseImpu,
  notRegistered,
  validateSubscriber,
  type AuthScheme,
  type PublicIdentity,
  type Registration,
  type RequiredCapabilities,
  type ScscfCapabilities,
  type Subscriber,
} from './subscriber.js';

/**
 * What the store keeps of one subscription. A million of these must fit beside the S-CSCF in under 2 KiB per
 * UE (issue 7), and V8 spends 40–100 bytes per small object, so the record holds few objects: K, OP, OPc and
 * AMF in one one-byte string instead of four Buffers with their own backing stores, the SQN as a number
 * (48 bits fit a double exactly), scheme and visited-network lists shared between subscribers that have the
 * same ones.
 */
interface HeldSubscriber {
  impi: string;
  /** The URIs of the public identities, in order; what else each has (barring, service profile) is in `attributes`. */
  impus: string[];
  /** attributes[i] belongs to impus[i]: one frozen list shared by every subscriber whose identities have the same. */
  attributes: ReadonlyArray<Omit<PublicIdentity, 'uri'>>;
  authSchemes: AuthScheme[];
  /** Per field (K, OP, OPc, AMF) a presence octet and the octets: see packSecrets. */
  secrets: string;
  sqn: number;
  allowedVisitedNetworks: string[];
  password?: string;
  userData?: string;
  capabilities?: RequiredCapabilities;
  /**
   * states[i] is the registration state of impus[i] (undefined: none stored). One frozen list shared by every
   * subscriber in the same states (all identities REGISTERED at one S-CSCF: one list), replaced, never changed.
   */
  states: ReadonlyArray<HeldState | undefined>;
}

type HeldState = Omit<Registration, 'impu'>;

/** A registration state stored for an identity no subscription owns (the contract does not forbid it). */
interface OrphanState {
  orphan: HeldState;
}

/**
 * What the identity map holds per public identity: its subscriber itself (whose states hold the identity's
 * registration state), so that an identity costs a Map entry and no object of its own (issue 7).
 */
type IdentityEntry = HeldSubscriber | OrphanState;

function isOrphan(e: IdentityEntry): e is OrphanState {
  return (e as OrphanState).orphan !== undefined;
}

/** Where the identity keyed `key` sits in its subscriber's impus. */
function indexOfKey(s: HeldSubscriber, key: string): number {
  for (let i = 0; i < s.impus.length; i++) if (s.impus[i] === key || keyOf(s.impus[i]!) === key) return i;
  return -1;
}

function stateOf(e: IdentityEntry | undefined, key: string): HeldState | undefined {
  if (!e) return undefined;
  return isOrphan(e) ? e.orphan : e.states[indexOfKey(e, key)];
}

/** The same contract as SqliteSubscriberStore, held in memory: for unit tests and benchmarks of the Cx logic. */
export class MemorySubscriberStore implements SubscriberStore {
  private subscribers = new Map<string, HeldSubscriber>();
  /** By normalised public identity (TS 23.003 §13.4). */
  private identities = new Map<string, IdentityEntry>();
  private scscfs = new Map<string, ScscfCapabilities>();
  /** Server names, hosts, realms and list values repeat across subscribers: one copy of each. */
  private readonly strings = new Interner();

  get(impi: string): Subscriber | undefined {
    const s = this.subscribers.get(impi);
    return s ? toSubscriber(s) : undefined;
  }

  findImpiByImpu(impu: string): string | undefined {
    const e = this.identities.get(normaliseImpu(impu));
    return e && !isOrphan(e) ? e.impi : undefined;
  }

  list(): Subscriber[] {
    return [...this.subscribers.keys()].sort().map((k) => toSubscriber(this.subscribers.get(k)!));
  }

  put(s: Subscriber): void {
    validateSubscriber(s);
    const keys = s.impus.map((p) => keyOf(p.uri));
    keys.forEach((key, i) => {
      const e = this.identities.get(key);
      const owner = e && !isOrphan(e) ? e.impi : undefined;
      if (owner !== undefined && owner !== s.impi) throw new StoreError(`public identity ${s.impus[i]!.uri} already belongs to ${owner}`);
    });
    const keep = new Set(keys);
    const previous = this.subscribers.get(s.impi);
    for (const uri of previous?.impus ?? []) {
      const key = keyOf(uri);
      if (!keep.has(key)) this.identities.delete(key);
    }
    const held = this.hold(s);
    // The states the identities had (as this subscriber's before, or stored with no owner) stay theirs.
    const heldKeys = held.impus.map(keyOf);
    held.states = this.strings.states(heldKeys.map((key) => stateOf(this.identities.get(key), key)));
    // Keyed by the held strings (the store's own copies), not by the caller's.
    for (const key of heldKeys) this.identities.set(key, held);
    this.subscribers.set(held.impi, held);
  }

  remove(impi: string): boolean {
    const s = this.subscribers.get(impi);
    if (!s) return false;
    for (const uri of s.impus) this.identities.delete(keyOf(uri));
    return this.subscribers.delete(impi);
  }

  nextSqn(impi: string, advance: (sqn: bigint) => bigint): bigint {
    const s = this.subscribers.get(impi);
    if (!s) throw new StoreError(`no subscriber ${impi}`);
    const next = advance(BigInt(s.sqn));
    if (next < 0n || next >= 1n << 48n) throw new StoreError(`SQN 0x${next.toString(16)} does not fit in 48 bits`);
    s.sqn = Number(next);
    return next;
  }

  setSqn(impi: string, sqn: bigint): void {
    const s = this.subscribers.get(impi);
    if (!s) throw new StoreError(`no subscriber ${impi}`);
    if (sqn < 0n || sqn >= 1n << 48n) throw new StoreError(`SQN 0x${sqn.toString(16)} does not fit in 48 bits`);
    s.sqn = Number(sqn);
  }

  getRegistration(impu: string): Registration {
    const key = normaliseImpu(impu);
    const r = stateOf(this.identities.get(key), key);
    return r ? { impu: key, ...r } : notRegistered(key);
  }

  setRegistrations(registrations: Registration[]): void {
    for (const r of registrations) {
      const key = keyOf(r.impu);
      const entry = this.identities.get(key);
      const cleared = r.state === 'NOT_REGISTERED' && !r.serverName && !r.authPending;
      const held = cleared ? undefined : this.strings.registration(r);
      if (entry && !isOrphan(entry)) {
        const states = [...entry.states];
        states[indexOfKey(entry, key)] = held;
        entry.states = this.strings.states(states);
      } else if (held) this.identities.set(key, { orphan: held });
      else this.identities.delete(key);
    }
  }

  listRegistrations(): Registration[] {
    const out: Registration[] = [];
    for (const [impu, entry] of this.identities) {
      const state = stateOf(entry, impu);
      if (state) out.push({ impu, ...state });
    }
    return out.sort((a, b) => (a.impu < b.impu ? -1 : 1));
  }

  listScscfs(): ScscfCapabilities[] {
    return [...this.scscfs.values()].map((s) => ({ serverName: s.serverName, capabilities: [...s.capabilities] }));
  }

  putScscf(scscf: ScscfCapabilities): void {
    this.scscfs.set(scscf.serverName, { serverName: scscf.serverName, capabilities: [...scscf.capabilities] });
  }

  removeScscf(serverName: string): boolean {
    return this.scscfs.delete(serverName);
  }

  transaction<T>(fn: (store: SubscriberStore) => T): T {
    // Identities point at their subscriber's record: the copies must point at the copied records.
    const copies = new Map<HeldSubscriber, HeldSubscriber>();
    const subscribers = new Map([...this.subscribers].map(([k, v]) => {
      const copy = { ...v };
      copies.set(v, copy);
      return [k, copy] as const;
    }));
    const snapshot = {
      subscribers,
      identities: new Map([...this.identities].map(([k, v]) => [k, isOrphan(v) ? { ...v } : copies.get(v)!] as const)),
      scscfs: new Map(this.scscfs),
    };
    try {
      return fn(this);
    } catch (e) {
      Object.assign(this, snapshot);
      throw e;
    }
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}

  private hold(s: Subscriber): HeldSubscriber {
    // Own copies: a string cut from a provisioning file or a message would keep all of it (util/own-string.ts).
    const held: HeldSubscriber = {
      impi: ownString(s.impi),
      impus: s.impus.map((p) => ownString(p.uri)),
      attributes: this.strings.attributes(s.impus),
      authSchemes: this.strings.list(s.authSchemes) as AuthScheme[],
      secrets: packSecrets(s),
      sqn: Number(s.sqn),
      allowedVisitedNetworks: this.strings.list(s.allowedVisitedNetworks),
      states: NO_STATES,
    };
    if (s.password !== undefined) held.password = s.password;
    if (s.userData !== undefined) held.userData = s.userData;
    if (s.capabilities) held.capabilities = { mandatory: [...s.capabilities.mandatory], optional: [...s.capabilities.optional] };
    return held;
  }
}

/** The identity's key, sharing the URI's own string when normalisation leaves it as it was (the common case). */
function keyOf(uri: string): string {
  const key = normaliseImpu(uri);
  return key === uri ? uri : key;
}

/** One copy of each repeated string, and one frozen array per distinct list (callers get copies). */
class Interner {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();
  private readonly registrations = new Map<string, Omit<Registration, 'impu'>>();
  private readonly stateKeys = new Map<HeldState, string>();
  private readonly stateLists = new Map<string, ReadonlyArray<HeldState | undefined>>();

  /** One frozen list per distinct sequence of (interned) states. */
  states(states: ReadonlyArray<HeldState | undefined>): ReadonlyArray<HeldState | undefined> {
    const key = states.map((st) => (st ? this.stateKeys.get(st) : '')).join('\u0001');
    let known = this.stateLists.get(key);
    if (!known) this.stateLists.set(key, (known = Object.freeze([...states])));
    return known;
  }
  private readonly attributeLists = new Map<string, ReadonlyArray<Omit<PublicIdentity, 'uri'>>>();

  /** The identities' barring and service profile ids, one frozen list per distinct sequence of them. */
  attributes(impus: readonly PublicIdentity[]): ReadonlyArray<Omit<PublicIdentity, 'uri'>> {
    const key = JSON.stringify(impus.map((p) => [p.barred, p.serviceProfileId ?? null]));
    let known = this.attributeLists.get(key);
    if (!known) {
      known = Object.freeze(
        impus.map((p) => Object.freeze(p.serviceProfileId !== undefined ? { barred: p.barred, serviceProfileId: this.get(p.serviceProfileId) } : { barred: p.barred })),
      );
      this.attributeLists.set(key, known);
    }
    return known;
  }

  get(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }

  /**
   * One frozen object per distinct state (every identity REGISTERED at one S-CSCF shares one): held states are
   * replaced, never changed in place.
   */
  registration(r: Registration): Omit<Registration, 'impu'> {
    const key = `${r.state}\n${r.serverName ?? ''}\n${r.scscfHost ?? ''}\n${r.scscfRealm ?? ''}\n${r.authPending ? 1 : 0}`;
    let known = this.registrations.get(key);
    if (!known) {
      const held: Omit<Registration, 'impu'> = { state: r.state, authPending: r.authPending };
      if (r.serverName !== undefined) held.serverName = this.get(r.serverName);
      if (r.scscfHost !== undefined) held.scscfHost = this.get(r.scscfHost);
      if (r.scscfRealm !== undefined) held.scscfRealm = this.get(r.scscfRealm);
      this.registrations.set(key, (known = Object.freeze(held)));
      this.stateKeys.set(known, key);
    }
    return known;
  }

  list(values: readonly string[]): string[] {
    const key = values.join('\n');
    let known = this.lists.get(key);
    if (!known) {
      known = Object.freeze(values.map((v) => this.get(v)));
      this.lists.set(key, known);
    }
    return known as string[];
  }
}

const NO_STATES: ReadonlyArray<HeldState | undefined> = Object.freeze([]);

const SECRET_FIELDS = ['k', 'op', 'opc', 'amf'] as const;

/** K, OP, OPc, AMF as one latin1 string: per field one octet (its length, 0 = absent) then its octets. */
function packSecrets(s: Subscriber): string {
  // Built in one Buffer: `+=` would leave a rope of eight cons strings (32 bytes each) behind every subscriber.
  let length = 0;
  for (const field of SECRET_FIELDS) length += 1 + (s[field]?.length ?? 0);
  const out = Buffer.allocUnsafe(length);
  let at = 0;
  for (const field of SECRET_FIELDS) {
    const b = s[field];
    out[at++] = b ? b.length : 0;
    if (b) at += b.copy(out, at);
  }
  return out.toString('latin1');
}

function toSubscriber(h: HeldSubscriber): Subscriber {
  // One pooled Buffer for all four fields; each field is a view of it, fresh per call like the clones before.
  const bytes = Buffer.from(h.secrets, 'latin1');
  const fields: Partial<Record<(typeof SECRET_FIELDS)[number], Buffer>> = {};
  let at = 0;
  for (const field of SECRET_FIELDS) {
    const length = bytes[at++]!;
    if (length > 0) fields[field] = bytes.subarray(at, at + length);
    at += length;
  }
  const s: Subscriber = {
    impi: h.impi,
    impus: h.impus.map((uri, i) => ({ uri, ...h.attributes[i]! })),
    authSchemes: [...h.authSchemes],
    amf: fields.amf!,
    sqn: BigInt(h.sqn),
    allowedVisitedNetworks: [...h.allowedVisitedNetworks],
  };
  if (fields.k) s.k = fields.k;
  if (fields.op) s.op = fields.op;
  if (fields.opc) s.opc = fields.opc;
  if (h.password !== undefined) s.password = h.password;
  if (h.userData !== undefined) s.userData = h.userData;
  if (h.capabilities) s.capabilities = { mandatory: [...h.capabilities.mandatory], optional: [...h.capabilities.optional] };
  return s;
}
