import { parseCSeq } from '../../sip/headers/cseq.js';
import { parseNameAddr } from '../../sip/headers/name-addr.js';
import { expiresOf } from '../../sip/headers/p-headers.js';
import { Headers, SipRequest, type SipResponse } from '../../sip/message.js';
import { resolveUri, routeUri } from '../../sip/proxy/routing.js';
import type { TransactionLayer } from '../../sip/transaction/layer.js';
import { createResponse } from '../../sip/transaction/response.js';
import type { ReceivedMessage, TransportAddress, TransportProtocol } from '../../sip/transport/types.js';
import { isSipUri, parseUri } from '../../sip/uri.js';
import type { Directory } from '../../topology/directory.js';
import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import { Interner } from '../../util/interner.js';
import { KeyedDeadlineQueue } from '../../util/keyed-deadline-queue.js';
import { ownString } from '../../util/own-string.js';
import { smallOffset } from '../../util/small-integer.js';
import type { Random } from '../../util/random.js';
import { buildRegInfo, REGINFO_CONTENT_TYPE, type RegInfoContact, type RegInfoRegistration } from '../reginfo.js';
import { refusal } from '../respond.js';
import type { ContactChange, RegistrationChange } from './registrar.js';
import { impuKey, type ContactBinding, type RegistrationStore, type SubscriptionRegistration } from './registration-store.js';

/**
 * The notifier side of one reg event subscription (RFC 6665 §4.2, RFC 3261 §12.1.1): the dialog the SUBSCRIBE
 * created, as the UAS sees it, and the subscription's own state. It lasts 600,000 s: every string is its own
 * (not a slice of the SUBSCRIBE, not a rope), and its expiry is a deadline on the notifier's one queue.
 */
export interface RegSubscription {
  /** The watched public identity (Request-URI of the SUBSCRIBE) and the subscription it belongs to. */
  impu: string;
  impi: string;
  /** Who subscribed (P-Asserted-Identity or From): the UE itself or its P-CSCF (TS 24.229 §5.4.2.1.1). */
  watcher: string;
  callId: string;
  localTag: string;
  remoteTag: string;
  /** From of the NOTIFYs (the SUBSCRIBE's To URI) and To (its From, with the remote tag). */
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  /** RFC 3261 §12.1.1: the Record-Route values of the SUBSCRIBE, in order. */
  routeSet: readonly string[];
  localCSeq: number;
  remoteCSeq: number;
  expiresAt: number;
  /** reginfo version: 0 in the first NOTIFY, +1 in each after (RFC 3680 §5.3). */
  version: number;
  /** The transport the SUBSCRIBE arrived on, for a target without a transport parameter. */
  transport: TransportProtocol;
  /** Position of its expiry in the notifier's deadline queue; -1 when it has none. */
  deadlineSlot: number;
}

/**
 * What the subscriptions of one watcher have in common: its URI, Contact and Record-Route and the transport
 * they arrive on are the same for every UE one P-CSCF serves (TS 24.229 §5.2.3), so they are one object per
 * P-CSCF that each subscription refers to (issue 7) rather than five fields of every subscription; with the
 * instant the notifier's times are counted from (see HeldSubscription.expiry).
 */
interface Peer {
  readonly watcher: string;
  readonly remoteUri: string;
  readonly remoteTarget: string;
  readonly routeSet: readonly string[];
  readonly transport: TransportProtocol;
  readonly epoch: number;
}

/**
 * A RegSubscription as the notifier holds it for its 600,000 s (issue 7: about 2 KiB for everything the core
 * keeps per UE): the dialog ID and the counters in fields of its own, what its watcher shares in `peer`, the
 * local URI as the watched identity it is (the SUBSCRIBE's To URI), and the expiry as a small integer.
 */
class HeldSubscription implements RegSubscription {
  version = 0;
  deadlineSlot = -1;
  /**
   * expiresAt as ms after `peer.epoch`: an epoch-ms time is above 2^31, which V8 boxes in a 16-byte heap number,
   * where an offset of less than 12 days (the longest subscription is 7, TS 24.229 §5.4.2.1.1) is a small
   * integer inside the object. `absolute` when a time does not come back exactly so: then it is held as given.
   */
  private expiry = 0;
  declare private absolute?: true;
  /**
   * The local and the remote tag as one string of their own, NUL between them: one string per subscription
   * rather than two (issue 7). The local tag is the notifier's own token (a SUBSCRIBE with a To tag makes no
   * subscription), so the first NUL is the one between them whatever the remote tag holds.
   */
  private readonly tags: string;

  constructor(
    readonly impu: string,
    readonly impi: string,
    readonly callId: string,
    localTag: string,
    remoteTag: string,
    private readonly peer: Peer,
    public localCSeq: number,
    public remoteCSeq: number,
  ) {
    this.tags = ownString(`${localTag}\u0000${remoteTag}`);
  }

  get localTag(): string {
    return this.tags.slice(0, this.tags.indexOf('\u0000'));
  }
  get remoteTag(): string {
    return this.tags.slice(this.tags.indexOf('\u0000') + 1);
  }

  get watcher(): string {
    return this.peer.watcher;
  }
  get localUri(): string {
    return this.impu;
  }
  get remoteUri(): string {
    return this.peer.remoteUri;
  }
  get remoteTarget(): string {
    return this.peer.remoteTarget;
  }
  get routeSet(): readonly string[] {
    return this.peer.routeSet;
  }
  get transport(): TransportProtocol {
    return this.peer.transport;
  }

  get expiresAt(): number {
    return this.absolute ? this.expiry : this.expiry + this.peer.epoch;
  }
  set expiresAt(at: number) {
    const offset = this.absolute ? undefined : smallOffset(at, this.peer.epoch);
    if (offset !== undefined) this.expiry = offset;
    else {
      this.expiry = at;
      this.absolute = true;
    }
  }
}

export interface RegEventOptions {
  node: string;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  directory: Directory;
  transactions: TransactionLayer;
  store: RegistrationStore;
  warnAgent: string;
  /** Contact of this notifier (our address) per transport. */
  contact: (transport: TransportProtocol) => string;
  /** Longest subscription granted, s (TS 24.229 §5.4.2.1.1: the UE proposes 600000). */
  maxExpires?: number;
}

/** Watchers whose Peer is shared; past it a subscription's Peer is its own (a network has a few P-CSCFs). */
const PEERS = 1024;

/** URIs whose address is remembered; past it the memory starts over (a network has a few P-CSCFs). */
const ADDRESSES = 256;

/** TS 24.229 §5.1.1.3: the UE asks 600 000 s; the notifier may shorten (RFC 6665 §4.2.1.1). */
const DEFAULT_SUBSCRIPTION_S = 600_000;

/**
 * The reg event notifier of the S-CSCF (RFC 3680, TS 24.229 §5.4.2.1): SUBSCRIBE from the UE or its P-CSCF
 * for a registered identity → 200 (RFC 6665: never 202) and at once a NOTIFY with the full state; then a
 * partial NOTIFY on every change; a terminated NOTIFY when the registration or the subscription ends.
 */
export class RegEventNotifier {
  /**
   * Every subscription by the key of the identity it watches (impuKey of its To URI), told apart there by
   * dialog ID: a SUBSCRIBE within the dialog names that identity in its To (RFC 3261 §12.2.1.1: the remote URI
   * of the subscriber's dialog), and a registration change reaches the watchers of its implicit set through
   * the keys of its IMPUs, so one Map entry per subscription serves both (issue 7), where a Call-ID table
   * and an IMPI index took two.
   */
  private readonly byImpu = new Map<string, HeldSubscription | HeldSubscription[]>();
  /**
   * The subscriptions of an IMPI that its implicit set does not reach: the identity watched is not (or is no
   * longer, after a new profile, TS 29.228 §6.2.2) one of the set's. A change of the registration reaches them
   * too, as it always did.
   */
  private readonly strays = new Map<string, HeldSubscription[]>();
  /** RFC 6665 §4.2.2: every subscription's expiry, on one timer. */
  private readonly expiries: KeyedDeadlineQueue<HeldSubscription>;
  /**
   * The watcher's URI, Contact and Record-Route: the same for every UE one P-CSCF serves (§5.2.3), so held
   * once per P-CSCF rather than once per subscription (issue 7).
   */
  private readonly shared = new Interner(1024);
  /** What the subscriptions of one watcher share, by watcher, Contact, Record-Route and transport. */
  private readonly peers = new Map<string, Peer>();
  /** The instant subscription expiries are counted from (see HeldSubscription.expiry). */
  private readonly epoch: number;
  /** Path values and watcher URIs → the address they name (see addressOf). */
  private readonly pathAddresses = new Map<string, string | undefined>();
  private readonly uriAddresses = new Map<string, string | undefined>();
  /** NOTIFY targets → where they are sent (see destination); null: the directory cannot place it. */
  private readonly placed = new Map<string, { a: TransportAddress; explicit: boolean } | null>();
  private stopped = false;

  constructor(private readonly o: RegEventOptions) {
    this.expiries = new KeyedDeadlineQueue(o.clock, (sub) => this.expire(sub));
    const now = o.clock.now();
    this.epoch = Number.isFinite(now) ? Math.floor(now) : 0;
  }

  get subscriptions(): RegSubscription[] {
    const out: RegSubscription[] = [];
    for (const bucket of this.byImpu.values()) {
      if (Array.isArray(bucket)) out.push(...bucket);
      else out.push(bucket);
    }
    return out;
  }

  stop(): void {
    this.stopped = true;
    this.expiries.clear();
    this.byImpu.clear();
    this.strays.clear();
    this.peers.clear();
  }

  /** Handles a SUBSCRIBE for Event: reg; returns the response to send, and sends the NOTIFY after it. */
  subscribe(request: SipRequest, received: ReceivedMessage): SipResponse {
    const toTagOfRequest = safeTag(request.headers.get('To'));
    const localTag = toTagOfRequest ?? this.o.random.token(10);
    const refuse = (status: number, reason: string, clause: string) =>
      refusal(request, status, reason, { node: this.o.node, trace: this.o.trace, warnAgent: this.o.warnAgent, toTag: localTag, clause });
    const event = (request.headers.get('Event') ?? '').split(';')[0]!.trim().toLowerCase();
    if (event !== 'reg') {
      const r = refuse(489, `event package "${event}" is not offered here`, 'RFC 6665 §4.2.1.1');
      r.headers.append('Allow-Events', 'reg');
      return r;
    }
    let from;
    let to;
    let expires: number | undefined;
    let contact: string | undefined;
    let cseq: number;
    try {
      from = parseNameAddr(request.headers.get('From') ?? '');
      to = parseNameAddr(request.headers.get('To') ?? '');
      expires = expiresOf(request.headers);
      const c = request.headers.first('Contact');
      contact = c === undefined ? undefined : parseNameAddr(c).uri;
      cseq = parseCSeq(request.headers.get('CSeq') ?? '').seq;
      if (!from.tag) throw new Error('From has no tag');
    } catch (e) {
      return refuse(400, `unreadable SUBSCRIBE: ${(e as Error).message}`, 'RFC 6665 §4.1.2');
    }
    if (!contact) return refuse(400, 'SUBSCRIBE without Contact', 'RFC 6665 §4.1.2');
    const callId = request.headers.get('Call-ID') ?? '';

    // An in-dialog SUBSCRIBE refreshes (or ends) the subscription it belongs to (RFC 6665 §4.2.1.2).
    if (toTagOfRequest !== undefined) {
      const existing = this.find(impuKey(to.uri), callId, toTagOfRequest, from.tag);
      if (!existing) return refuse(481, 'no such subscription', 'RFC 6665 §4.2.1.2');
      if (cseq <= existing.remoteCSeq) return refuse(500, 'CSeq out of order', 'RFC 3261 §12.2.2');
      existing.remoteCSeq = cseq;
      return this.accept(request, existing, expires, this.o.store.byImpi(existing.impi));
    }

    // TS 24.229 §5.4.2.1.1: the watched identity must be registered here, and the watcher entitled to it.
    const target = to.uri;
    const reg = this.o.store.byImpu(target) ?? this.o.store.byImpu(request.uri);
    if (!reg || reg.contacts.length === 0) return refuse(480, `${target} is not registered at this S-CSCF`, 'TS 24.229 §5.4.2.1.1');
    const asserted = request.headers.first('P-Asserted-Identity');
    const watcher = asserted ? safeUri(asserted) ?? from.uri : from.uri;
    if (!this.entitled(watcher, reg, received)) {
      return refuse(403, `${watcher} may not watch the registration of ${target}`, 'TS 24.229 §5.4.2.1.1');
    }
    const sub = new HeldSubscription(
      // The To URI (target) is the watched identity, and the local URI of the dialog: the store's own string
      // of that identity when it is spelled as the store holds it, so that the two keep one copy.
      reg.impus.find((u) => u === target) ?? ownString(target),
      reg.impi,
      ownString(callId),
      // A fresh token here (the SUBSCRIBE had no To tag).
      localTag,
      from.tag,
      this.peer(watcher, from.uri, contact, request.headers.list('Record-Route'), received.local.transport),
      this.o.random.int(10_000) + 1,
      cseq,
    );
    const key = impuKey(sub.impu);
    // A SUBSCRIBE that is not within a dialog makes a new one (its To has no tag): any other held under the
    // same dialog ID is replaced, as a dialog table would.
    const replaced = this.find(key, sub.callId, sub.localTag, sub.remoteTag);
    if (replaced !== undefined) this.end(replaced);
    // Usually the identity's only watcher (its P-CSCF): held as itself, an array only when there are more.
    const held = key === sub.impu ? sub.impu : ownString(key);
    const watchers = this.byImpu.get(held);
    if (watchers === undefined) this.byImpu.set(held, sub);
    else if (Array.isArray(watchers)) watchers.push(sub);
    else this.byImpu.set(held, [watchers, sub]);
    if (!reg.impus.some((u) => impuKey(u) === key)) this.addStray(sub);
    this.o.trace.note({ node: this.o.node, level: 'info', text: `${watcher} subscribed to the reg event of ${target}`, clause: 'TS 24.229 §5.4.2.1.1' });
    return this.accept(request, sub, expires, reg);
  }

  /** A registration changed: a partial NOTIFY to every watcher of it; a terminated one when it ended. */
  changed(change: RegistrationChange): void {
    if (this.stopped) return;
    const reg = change.after ?? change.before;
    if (!reg) return;
    const watchers = this.watchersOf(change);
    for (const sub of watchers) {
      const registrations = this.elements(reg, change.contacts, change.after === undefined);
      if (change.after === undefined) {
        this.notify(sub, registrations, 'partial', `terminated;reason=${change.ended ?? 'noresource'}`);
        this.end(sub);
      } else {
        this.notify(sub, registrations, 'partial', this.activeState(sub));
      }
    }
  }

  // ---- internals ----

  /** The subscription with this dialog ID among the watchers of the identity with this key. */
  private find(key: string, callId: string, localTag: string, remoteTag: string): HeldSubscription | undefined {
    const bucket = this.byImpu.get(key);
    if (bucket === undefined) return undefined;
    if (!Array.isArray(bucket)) return bucket.callId === callId && bucket.localTag === localTag && bucket.remoteTag === remoteTag ? bucket : undefined;
    return bucket.find((s) => s.callId === callId && s.localTag === localTag && s.remoteTag === remoteTag);
  }

  /**
   * The subscriptions of the changed registration: those watching an identity of its set before or after the
   * change, and its strays. One whose identity leaves the set becomes a stray, reached by IMPI from then on.
   */
  private watchersOf(change: RegistrationChange): HeldSubscription[] {
    const out: HeldSubscription[] = [];
    const keys = new Set<string>();
    for (const r of [change.before, change.after]) if (r) for (const u of r.impus) keys.add(impuKey(u));
    for (const key of keys) {
      const bucket = this.byImpu.get(key);
      if (bucket === undefined) continue;
      for (const sub of Array.isArray(bucket) ? bucket : [bucket]) if (sub.impi === change.impi) out.push(sub);
    }
    const strays = this.strays.get(change.impi);
    if (strays) for (const sub of strays) if (!out.includes(sub)) out.push(sub);
    if (change.after) {
      const after = new Set(change.after.impus.map(impuKey));
      for (const sub of out) if (!after.has(impuKey(sub.impu)) && !strays?.includes(sub)) this.addStray(sub);
    }
    return out;
  }

  private addStray(sub: HeldSubscription): void {
    const strays = this.strays.get(sub.impi);
    if (strays) strays.push(sub);
    else this.strays.set(sub.impi, [sub]);
  }

  private peer(watcher: string, remoteUri: string, remoteTarget: string, routeSet: readonly string[], transport: TransportProtocol): Peer {
    const key = `${watcher}\u0000${remoteUri}\u0000${remoteTarget}\u0000${routeSet.join('\u0000')}\u0000${transport}`;
    const known = this.peers.get(key);
    // Field by field too: a quoted-pair may carry a NUL (RFC 3261 §25.1), so the key alone could join two watchers.
    if (known !== undefined && samePeer(known, watcher, remoteUri, remoteTarget, routeSet, transport)) return known;
    const peer: Peer = Object.freeze({
      watcher: this.shared.string(watcher),
      remoteUri: this.shared.string(remoteUri),
      remoteTarget: this.shared.string(remoteTarget),
      routeSet: this.shared.list(routeSet),
      transport,
      epoch: this.epoch,
    });
    if (this.peers.size < PEERS) this.peers.set(ownString(key), peer);
    return peer;
  }

  /** `reg`: the subscription's registration as it is now (the state the first NOTIFY reports). */
  private accept(request: SipRequest, sub: HeldSubscription, requested: number | undefined, reg: SubscriptionRegistration | undefined): SipResponse {
    const seconds = Math.min(requested ?? DEFAULT_SUBSCRIPTION_S, this.o.maxExpires ?? DEFAULT_SUBSCRIPTION_S);
    const r = createResponse(request, 200, undefined, sub.localTag);
    r.headers.append('Contact', `<${this.o.contact(sub.transport)}>`);
    r.headers.append('Expires', String(seconds));
    this.expiries.delete(sub);
    // The NOTIFY follows the 200 (RFC 6665 §4.2.1.1 "immediately"), after the response is on its way.
    setImmediate(() => {
      if (this.stopped || !this.holds(sub)) return;
      if (seconds === 0 || !reg) {
        // An unsubscribe (Expires 0) gets one last NOTIFY with the state and "terminated" (RFC 6665 §4.2.1.4).
        this.notify(sub, reg ? this.elements(reg, undefined, false) : [], 'full', 'terminated;reason=timeout');
        this.end(sub);
        return;
      }
      this.armExpiry(sub, seconds);
      this.notify(sub, this.elements(reg, undefined, false), 'full', this.activeState(sub));
    });
    return r;
  }

  /** TS 24.229 §5.4.2.1.1: the UE (an identity of the same implicit set) or the P-CSCF on the Path of a contact. */
  private entitled(watcher: string, reg: SubscriptionRegistration, received: ReceivedMessage): boolean {
    const watcherKey = impuKey(watcher);
    if (reg.impus.some((u) => impuKey(u) === watcherKey)) return true;
    const watcherAddress = this.addressOf(watcher, false);
    for (const c of reg.contacts) {
      for (const p of c.path) {
        const a = this.addressOf(p, true);
        if (a !== undefined && (a === watcherAddress || a === received.source.address)) return true;
      }
    }
    return false;
  }

  /**
   * The address a URI (or a name-addr: a Path value) names: an IP, or a node's FQDN through the directory, else
   * the host as written. The values are the few Path and P-CSCF URIs of the network, resolved through a directory
   * that does not change while the node runs: remembered (bounded), not parsed again for every SUBSCRIBE.
   */
  private addressOf(value: string, nameAddr: boolean): string | undefined {
    const memory = nameAddr ? this.pathAddresses : this.uriAddresses;
    const known = memory.get(value);
    if (known !== undefined || memory.has(value)) return known;
    const h = hostOf((nameAddr ? safeUri(value) : value) ?? '');
    const address = h ? (this.o.directory.resolveHost(h)?.address ?? h) : undefined;
    if (memory.size >= ADDRESSES) memory.clear();
    memory.set(ownString(value), address);
    return address;
  }

  /**
   * The registration elements of a document (TS 24.229 §5.4.2.1.2): one per public identity of the implicit
   * set that is not barred, each with the contacts given (a partial document) or all of them (full state).
   */
  private elements(reg: SubscriptionRegistration, changes: ContactChange[] | undefined, terminated: boolean): RegInfoRegistration[] {
    const now = this.o.clock.now();
    const contacts: RegInfoContact[] = changes
      ? changes.map((c) => contactElement(c.binding, c.state, c.event, now))
      : reg.contacts.map((binding) => contactElement(binding, 'active', 'registered', now));
    const barred = reg.barred.length === 0 ? undefined : new Set(reg.barred.map(impuKey));
    const out: RegInfoRegistration[] = [];
    for (const aor of reg.impus) {
      if (barred?.has(impuKey(aor))) continue;
      out.push({ aor, id: reg.ids[aor] ?? impuKey(aor), state: terminated ? 'terminated' : 'active', contacts });
    }
    return out;
  }

  private activeState(sub: HeldSubscription): string {
    return `active;expires=${Math.max(0, Math.round((sub.expiresAt - this.o.clock.now()) / 1000))}`;
  }

  /** A deadline on the shared queue, not a timer and closure per subscription. */
  /** Whether `sub` is still a live subscription (not ended, nor replaced). */
  private holds(sub: HeldSubscription): boolean {
    const bucket = this.byImpu.get(impuKey(sub.impu));
    return bucket === sub || (Array.isArray(bucket) && bucket.includes(sub));
  }

  private armExpiry(sub: HeldSubscription, seconds: number): void {
    // To the whole ms, as the registrar counts binding expiries: a system clock reads fractions of a ms, and a
    // fractional time would be held boxed (HeldSubscription.expiry); the NOTIFY tells whole seconds.
    sub.expiresAt = Math.floor(this.o.clock.now()) + seconds * 1000;
    this.expiries.set(sub, sub.expiresAt);
  }

  private expire(sub: HeldSubscription): void {
    if (!this.holds(sub)) return;
    const reg = this.o.store.byImpi(sub.impi);
    this.notify(sub, reg ? this.elements(reg, undefined, false) : [], 'full', 'terminated;reason=timeout');
    this.end(sub);
  }

  private end(sub: HeldSubscription): void {
    this.expiries.delete(sub);
    const key = impuKey(sub.impu);
    const watchers = this.byImpu.get(key);
    if (watchers === sub) this.byImpu.delete(key);
    else if (Array.isArray(watchers)) {
      const at = watchers.indexOf(sub);
      if (at >= 0) watchers.splice(at, 1);
      if (watchers.length === 1) this.byImpu.set(key, watchers[0]!);
    }
    const strays = this.strays.get(sub.impi);
    if (strays) {
      const at = strays.indexOf(sub);
      if (at >= 0) strays.splice(at, 1);
      if (strays.length === 0) this.strays.delete(sub.impi);
    }
  }

  /** A NOTIFY within the subscription's dialog (RFC 3261 §12.2.1.1, RFC 6665 §4.2.2). */
  private notify(sub: HeldSubscription, registrations: RegInfoRegistration[], state: 'full' | 'partial', subscriptionState: string): void {
    const version = sub.version++;
    const body = Buffer.from(buildRegInfo({ version, state: version === 0 ? 'full' : state, registrations }), 'utf8');
    const h = new Headers();
    let uri = sub.remoteTarget;
    const routes = [...sub.routeSet];
    // A strict router first in the route set takes the Request-URI (RFC 3261 §12.2.1.1).
    if (routes.length && !routeUri(routes[0]!).includes(';lr')) {
      uri = routeUri(routes.shift()!);
      routes.push(`<${sub.remoteTarget}>`);
    }
    for (const r of routes) h.append('Route', r);
    h.append('Max-Forwards', '70');
    h.append('From', `<${sub.localUri}>;tag=${sub.localTag}`);
    h.append('To', `<${sub.remoteUri}>;tag=${sub.remoteTag}`);
    h.append('Call-ID', sub.callId);
    h.append('CSeq', `${++sub.localCSeq} NOTIFY`);
    h.append('Contact', `<${this.o.contact(sub.transport)}>`);
    h.append('Event', 'reg');
    h.append('Subscription-State', subscriptionState);
    h.append('Content-Type', REGINFO_CONTENT_TYPE);
    const request = new SipRequest('NOTIFY', uri, h, body);
    const next = routes.length ? routeUri(routes[0]!) : uri;
    const destination = this.destination(next, sub);
    if (!destination) {
      this.o.trace.note({ node: this.o.node, level: 'warn', text: `NOTIFY to ${next} not sent: the directory cannot place it`, clause: 'RFC 3263' });
      this.end(sub);
      return;
    }
    this.o.trace.note({
      node: this.o.node,
      level: 'info',
      text: `NOTIFY reg (version ${version}, ${version === 0 ? 'full' : state}, ${subscriptionState}) to ${sub.watcher}`,
      clause: 'RFC 3680 §4.1, TS 24.229 §5.4.2.1.2',
    });
    try {
      this.o.transactions.sendRequest(request, destination, {
        final: (response: SipResponse, cause) => {
          // RFC 6665 §4.2.2: a 481, a timeout or a transport failure ends the subscription.
          if (response.status === 481 || cause !== 'response' || response.status >= 300) {
            if (this.holds(sub)) {
              this.o.trace.note({ node: this.o.node, level: 'info', text: `NOTIFY answered ${response.status} (${cause}): subscription of ${sub.watcher} ends`, clause: 'RFC 6665 §4.2.2' });
              this.end(sub);
            }
          }
        },
      });
    } catch (e) {
      this.o.trace.note({ node: this.o.node, level: 'warn', text: `NOTIFY not sent: ${(e as Error).message}` });
      this.end(sub);
    }
  }

  private destination(uri: string, sub: HeldSubscription): TransportAddress | undefined {
    // The targets are the watchers' Contact URIs (one per P-CSCF, interned), placed through a directory that
    // does not change while the node runs: each is resolved once (bounded memory), not for every NOTIFY.
    let placed = this.placed.get(uri);
    if (placed === undefined) {
      const parsed = safeParse(uri);
      const a = parsed ? resolveUri(uri, (h) => this.o.directory.resolveHost(h)?.address) : undefined;
      placed = a ? { a, explicit: isSipUri(parsed!) && (parsed.params.has('transport') || parsed.scheme === 'sips') } : null;
      if (this.placed.size >= ADDRESSES) this.placed.clear();
      this.placed.set(ownString(uri), placed);
    }
    if (placed === null) return undefined;
    const { a, explicit } = placed;
    return explicit ? { ...a } : { ...a, transport: sub.transport === 'tls' ? 'tls' : a.transport === 'udp' ? sub.transport : a.transport };
  }
}

function samePeer(p: Peer, watcher: string, remoteUri: string, remoteTarget: string, routeSet: readonly string[], transport: TransportProtocol): boolean {
  if (p.watcher !== watcher || p.remoteUri !== remoteUri || p.remoteTarget !== remoteTarget || p.transport !== transport) return false;
  if (p.routeSet.length !== routeSet.length) return false;
  for (let i = 0; i < routeSet.length; i++) if (p.routeSet[i] !== routeSet[i]) return false;
  return true;
}

function contactElement(b: ContactBinding, state: 'active' | 'terminated', event: ContactChange['event'], now: number): RegInfoContact {
  const c: RegInfoContact = {
    id: b.id,
    state,
    event,
    uri: b.uri,
    callId: b.callId,
    cseq: b.cseq,
    unknownParams: b.params.filter(([k]) => k !== 'q').map(([k, v]) => [k, v ?? '']),
  };
  c.expires = state === 'active' ? Math.max(0, Math.round((b.expiresAt - now) / 1000)) : 0;
  c.durationRegistered = Math.max(0, Math.round((now - b.registeredAt) / 1000));
  if (b.q !== undefined) c.q = b.q;
  if (b.displayName !== undefined) c.displayName = b.displayName;
  return c;
}

function safeTag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return parseNameAddr(value).tag;
  } catch {
    return undefined;
  }
}

function safeUri(value: string): string | undefined {
  try {
    return parseNameAddr(value).uri;
  } catch {
    return undefined;
  }
}

function safeParse(uri: string) {
  try {
    return parseUri(uri);
  } catch {
    return undefined;
  }
}

function hostOf(uri: string): string | undefined {
  const u = safeParse(uri);
  return u && isSipUri(u) ? u.host.replace(/^\[|\]$/g, '') : undefined;
}
