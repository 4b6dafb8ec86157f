/**
 * The subscriber side of RFC 6665: SUBSCRIBE, the dialog it forms (from the 2xx, or from a NOTIFY that
 * overtakes it, §4.1.2.4), refreshes before expiry (§4.1.2.1), NOTIFY handling with Subscription-State
 * (§4.1.3), and unsubscribing with Expires 0 (§4.1.2.3).
 */
import { BehaviorSubject, EMPTY, Subject, type Observable } from 'rxjs';
import type { Clock } from '../../util/clock.js';
import type { Interner } from '../../util/interner.js';
import { KeyedDeadlineQueue, type DeadlineSlot } from '../../util/keyed-deadline-queue.js';
import { ownString } from '../../util/own-string.js';
import { smallInteger } from '../../util/small-integer.js';
import { Dialog } from '../dialog/dialog.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { expiresOf } from '../headers/p-headers.js';
import { parseCSeq } from '../headers/cseq.js';
import type { SipRequest, SipResponse } from '../message.js';
import type { IncomingRequest } from './incoming.js';
import { refreshDelaySeconds } from './refresh.js';
import { parseEvent, parseSubscriptionState, type SubscriptionStateValue } from './subscription-state.js';
import type { ChallengeHandler, ClientResult, DialogUsage, UserAgent } from './user-agent.js';

export interface SubscriptionOptions {
  /** Event header value, e.g. `reg` (RFC 3680). */
  event: string;
  /** The Request-URI (the resource), e.g. the default IMPU. */
  target: string;
  from?: string | undefined;
  to?: string | undefined;
  accept?: string | undefined;
  /** Requested duration in seconds. */
  expires: number;
  /** Preloaded route set (§8.1.1.1). */
  routeSet?: readonly string[] | undefined;
  /** Extra headers of every SUBSCRIBE; a function is asked anew for each (a fresh P-Charging-Vector, TS 24.229 §5.2.3). */
  headers?: ReadonlyArray<readonly [string, string]> | (() => ReadonlyArray<readonly [string, string]>) | undefined;
  onChallenge?: ChallengeHandler | undefined;
  /** Told of every NOTIFY and status change, beside `notifications$` and `status$`. */
  listener?: SubscriptionListener | undefined;
  /** The node's shared deadline queue; without one the subscription makes its own. */
  deadlines?: SubscriptionDeadlines | undefined;
  /**
   * Where the dialog's values that repeat across a node's subscriptions (the notifier's Contact, the route set)
   * are held once (util/interner.ts); without one each dialog keeps copies of its own.
   */
  shared?: Interner | undefined;
}

/**
 * What the subscriptions a node makes alike share — everything but the resource and its route: one object for
 * all of them (the P-CSCF's reg-event watches, TS 24.229 §5.2.3), given with each one's target.
 */
export type SubscriptionDefaults = Omit<SubscriptionOptions, 'target' | 'routeSet'>;

export interface Notification {
  request: SipRequest;
  subscriptionState: SubscriptionStateValue;
  body: Buffer;
  contentType?: string | undefined;
}

export type SubscriberState = 'init' | 'pending' | 'active' | 'terminated';

export interface SubscriptionStatus {
  state: SubscriberState;
  /** Why it ended: the notifier's reason (RFC 6665 §4.1.3), or the failing response / local cause. */
  reason?: string | undefined;
  /** Seconds left as of the last 2xx or NOTIFY. */
  expires?: number | undefined;
}

/**
 * What a watcher of many subscriptions is told, as plain calls on one object shared by all of them (the
 * P-CSCF's reg-event watches, TS 24.229 §5.2.3): no subject, closure or listener per subscription.
 */
export interface SubscriptionListener {
  onNotification?(subscription: Subscription, notification: Notification): void;
  onStatus?(subscription: Subscription, status: SubscriptionStatus): void;
}

/** One timer for the refresh and expiry deadlines of many subscriptions; see subscriptionDeadlines(). */
export type SubscriptionDeadlines = KeyedDeadlineQueue<Subscription>;

/** The deadline queue a node shares among its subscriptions. */
export function subscriptionDeadlines(clock: Clock): SubscriptionDeadlines {
  return new KeyedDeadlineQueue<Subscription>(clock, (s) => s.deadlineReached());
}

const NOTIFY_ONLY = ['NOTIFY'] as const;

/**
 * What a subscription holds only for a while (the initial SUBSCRIBE until its final response, the unsubscribe
 * until the last NOTIFY, the reason it ended) or only when asked (subjects, a queue of its own): one object made
 * when first needed, so that the many subscriptions that simply run carry one empty field for all of it.
 */
interface SubscriptionExtra {
  /** The Call-ID and From tag chosen for the SUBSCRIBE, until a dialog holds them. */
  callId?: string | undefined;
  fromTag?: string | undefined;
  statusSubject?: BehaviorSubject<SubscriptionStatus> | undefined;
  notifySubject?: Subject<Notification> | undefined;
  /** The SUBSCRIBE as sent, until its final response: a NOTIFY that overtakes the 2xx forms the dialog from it. */
  initial?: SipRequest | undefined;
  stopExpecting?: (() => void) | undefined;
  ownDeadlines?: SubscriptionDeadlines | undefined;
  unsubscribing?: boolean;
  reason?: string | undefined;
}

/**
 * For as long as it lasts (600,000 s for reg, TS 24.229 §5.2.3) a subscription keeps its dialog's identifiers
 * (RFC 3261 §12: Call-ID, tags, remote target, route set, CSeq), its state and two deadlines — not the
 * SUBSCRIBE, which it drops at the final response (§4.1.2.4 needs it only until then), nor a timer of its own
 * when a node's queue is given. Subjects are made only for whoever reads `status$` or `notifications$`. A
 * P-CSCF holds one per registered UE, so each field here is paid a million times (issue 7).
 */
export class Subscription implements DialogUsage, DeadlineSlot {
  dialog: Dialog | undefined = undefined;
  /** Position in the deadline queue (KeyedDeadlineQueue); -1 when none is set. */
  deadlineSlot = -1;
  private stateValue: SubscriberState = 'init';
  /** Seconds left as of the last 2xx or NOTIFY. */
  private grantedSeconds: number | undefined = undefined;
  /**
   * When the refresh and the end are due, as marks (see markOf): whole ms after the clock's epoch, a small
   * integer inside the object where an epoch-ms time would be a 16-byte boxed double each; NONE when not due.
   */
  private refreshMark = NONE;
  private expiryMark = NONE;
  private extra: SubscriptionExtra | undefined = undefined;
  /** The resource (Request-URI of the initial SUBSCRIBE) and its preloaded route set (§8.1.1.1). */
  readonly target: string;
  readonly routeSet: readonly string[] | undefined;
  readonly options: SubscriptionDefaults;

  /** With options of its own, or with a node's shared defaults and this subscription's target and route. */
  constructor(ua: UserAgent, options: SubscriptionOptions);
  constructor(ua: UserAgent, defaults: SubscriptionDefaults, target: string, routeSet?: readonly string[]);
  constructor(
    private readonly ua: UserAgent,
    options: SubscriptionOptions | SubscriptionDefaults,
    target?: string,
    routeSet?: readonly string[],
  ) {
    this.extra = { callId: ua.newCallId(), fromTag: ua.newTag() };
    this.options = options;
    this.target = target ?? (options as SubscriptionOptions).target;
    this.routeSet = target === undefined ? (options as SubscriptionOptions).routeSet : routeSet;
  }

  /** The methods a subscription's dialog takes (DialogUsage): the same array for all. */
  get methods(): readonly string[] {
    return NOTIFY_ONLY;
  }

  /** The status as a BehaviorSubject (made on first use). */
  get status$(): BehaviorSubject<SubscriptionStatus> {
    const x = this.more();
    return (x.statusSubject ??= new BehaviorSubject<SubscriptionStatus>(this.status));
  }

  /** Every NOTIFY accepted, until the subscription ends (made on first use). */
  get notifications$(): Observable<Notification> {
    if (this.extra?.notifySubject) return this.extra.notifySubject.asObservable();
    if (this.ended()) return EMPTY;
    return (this.more().notifySubject = new Subject<Notification>()).asObservable();
  }

  get status(): SubscriptionStatus {
    const status: SubscriptionStatus = { state: this.stateValue };
    if (this.extra?.reason !== undefined) status.reason = this.extra.reason;
    if (this.grantedSeconds !== undefined) status.expires = this.grantedSeconds;
    return status;
  }

  get state(): SubscriberState {
    return this.stateValue;
  }

  /** Whether the initial SUBSCRIBE is still kept (only until its final response). */
  get holdsInitialRequest(): boolean {
    return this.extra?.initial !== undefined;
  }

  private ended(): boolean {
    return this.stateValue === 'terminated';
  }

  private more(): SubscriptionExtra {
    return (this.extra ??= {});
  }

  /** Sends the initial SUBSCRIBE; resolves with its final response. A non-2xx ends the subscription. */
  async subscribe(): Promise<ClientResult> {
    if (this.state !== 'init') throw new Error(`subscription to ${this.options.event} already ${this.state}`);
    const x = this.more();
    const callId = x.callId!;
    const fromTag = x.fromTag!;
    x.stopExpecting = this.ua.expectDialog(callId, fromTag, this);
    const request = this.ua.createRequest('SUBSCRIBE', this.target, {
      from: this.options.from,
      fromTag,
      to: this.options.to,
      callId,
      routeSet: this.routeSet,
      headers: this.subscribeHeaders(this.options.expires),
    });
    x.initial = request.clone();
    let result: ClientResult;
    try {
      result = await this.ua.send(request, { onChallenge: this.options.onChallenge });
    } finally {
      x.initial = undefined;
      this.shed();
    }
    if (this.ended()) return result;
    const { response } = result;
    if (response.status >= 200 && response.status < 300) {
      if (!this.dialog) {
        this.attach(this.ownDialog(Dialog.asUac(result.request, response, this.ua.contact)));
      } else {
        // A NOTIFY formed the dialog first; our CSeq space continues from the SUBSCRIBE actually sent.
        this.dialog.localSeq = Math.max(this.dialog.localSeq, parseCSeq(result.request.headers.get('CSeq') ?? '').seq);
      }
      const granted = grantedExpires(response, this.options.expires);
      this.schedule(granted);
      if (this.state === 'init') this.setStatus('pending');
    } else {
      this.end(`${response.status} ${response.reason}`);
    }
    return result;
  }

  /** §4.1.2.1: a SUBSCRIBE in the dialog with the same Event; the 2xx's Expires resets the timers. */
  async refresh(expires = this.options.expires): Promise<ClientResult | undefined> {
    const dialog = this.dialog;
    if (!dialog || this.ended()) return undefined;
    const result = await dialog.request<ClientResult>('SUBSCRIBE', { headers: this.subscribeHeaders(expires) });
    if (this.ended()) return result;
    const { response } = result;
    if (response.status >= 200 && response.status < 300) {
      this.schedule(grantedExpires(response, expires));
    } else if (response.status === 481) {
      // §4.1.2.2: 481 means the subscription is gone; other failures leave it to run out at its expiry.
      this.end(`refresh failed: ${response.status} ${response.reason}`);
    }
    return result;
  }

  /** §4.1.2.3: SUBSCRIBE with Expires 0; the notifier's final NOTIFY (state terminated) ends the dialog. */
  async unsubscribe(): Promise<void> {
    const dialog = this.dialog;
    if (!dialog || this.ended()) {
      this.end('unsubscribed');
      return;
    }
    this.more().unsubscribing = true;
    this.setDeadlines(Infinity, Infinity);
    const result = await dialog.request<ClientResult>('SUBSCRIBE', { headers: this.subscribeHeaders(0) });
    if (result.response.status >= 300) this.end('unsubscribed');
    else if (!this.ended()) {
      // Wait for the final NOTIFY, but not forever (64·T1 as for any transaction).
      this.setDeadlines(Infinity, this.ua.options.clock.now() + 64 * this.ua.options.transactions.timers.t1);
    }
  }

  /** Ends locally without signalling: timers cancelled, dialog forgotten. */
  close(): void {
    this.end('closed');
  }

  /** Called by the deadline queue when the refresh or the expiry falls due. */
  deadlineReached(): void {
    if (this.ended()) return;
    const now = this.ua.options.clock.now();
    if (now >= this.expiresAt) {
      this.end(this.extra?.unsubscribing ? 'unsubscribed' : 'timeout');
      return;
    }
    if (now >= this.refreshAt) {
      this.setDeadlines(Infinity, this.expiresAt);
      this.refresh().catch(() => undefined);
      return;
    }
    this.setDeadlines(this.refreshAt, this.expiresAt);
  }

  // ---- DialogUsage ----

  onRequest(incoming: IncomingRequest): void {
    const request = incoming.request;
    let state: SubscriptionStateValue;
    try {
      const ev = parseEvent(request.headers.get('Event') ?? '');
      const ours = parseEvent(this.options.event);
      if (ev.package !== ours.package || ev.id !== ours.id) {
        incoming.respond(489, { reason: 'Bad Event' });
        return;
      }
      state = parseSubscriptionState(request.headers.get('Subscription-State') ?? '');
    } catch (err) {
      incoming.respond(400, { reason: `Bad Request (${(err as Error).message})` });
      return;
    }
    if (!this.dialog) {
      // §4.1.2.4: the NOTIFY formed the dialog before the 2xx arrived.
      try {
        const initial = this.extra?.initial;
        if (!initial) throw new Error('no SUBSCRIBE outstanding');
        this.attach(this.ownDialog(dialogFromNotify(initial, request, this.ua.contact)));
        this.dialog!.checkRemoteRequest(request);
      } catch (err) {
        incoming.respond(400, { reason: `Bad Request (${(err as Error).message})` });
        return;
      }
    }
    // §4.1.3: NOTIFY is a target refresh request.
    refreshOwnTarget(this.dialog!, request, this.options.shared);
    incoming.respond(200);
    const contentType = request.headers.get('Content-Type');
    const notification: Notification = { request, subscriptionState: state, body: request.body, contentType };
    this.options.listener?.onNotification?.(this, notification);
    this.extra?.notifySubject?.next(notification);
    if (state.state === 'terminated') {
      this.end(state.reason ?? 'terminated');
      return;
    }
    if (this.extra?.unsubscribing) return;
    if (state.state === 'active' || state.state === 'pending') {
      if (state.expires !== undefined) this.schedule(state.expires);
      // The constant, not the parsed value: a string of its own per subscription otherwise (issue 7).
      this.setStatus(state.state === 'active' ? 'active' : 'pending');
    }
  }

  // ---- internals ----

  private subscribeHeaders(expires: number): Array<[string, string]> {
    const h: Array<[string, string]> = [['Event', this.options.event]];
    if (this.options.accept) h.push(['Accept', this.options.accept]);
    h.push(['Expires', String(expires)]);
    const extra = this.options.headers;
    for (const [n, v] of (typeof extra === 'function' ? extra() : extra) ?? []) h.push([n, v]);
    return h;
  }

  /**
   * The dialog as kept for the subscription's lifetime, every string its own: values read from a message are
   * slices of its header values, and the From we built is a rope of its parts (issue 7: each would keep more
   * than itself alive for 600,000 s). The Call-ID and local tag are the ones this subscription made (held
   * once, not twice); the remote target and route set, alike for every subscription a node makes to one
   * notifier, come from the node's interner when it has one.
   */
  private ownDialog(d: Dialog): Dialog {
    const shared = this.options.shared;
    const target = this.target;
    return new Dialog({
      callId: d.callId === this.extra?.callId ? this.extra.callId : ownString(d.callId),
      localTag: d.localTag === this.extra?.fromTag ? this.extra.fromTag : ownString(d.localTag),
      remoteTag: ownString(d.remoteTag),
      local: d.local,
      remote: d.remote,
      // Of the From and To only their URIs stay (Dialog.local): ours, alike in all of a node's subscriptions,
      // and usually the resource's, which is our target. A value with its tag is this dialog's own.
      keep: (v) => (v === target ? target : shared && !v.includes(';tag=') ? shared.string(v) : ownString(v)),
      remoteTarget: shared ? shared.string(d.remoteTarget) : ownString(d.remoteTarget),
      // Interned lists are frozen; Dialog replaces its route set (confirm), never changes it in place.
      routeSet: shared ? (shared.list(d.routeSet) as string[]) : d.routeSet.map(ownString),
      localSeq: d.localSeq,
      remoteSeq: d.remoteSeq,
      secure: d.secure,
      state: d.state,
      localContact: d.localContact,
    });
  }

  private attach(dialog: Dialog): void {
    this.dialog = dialog;
    this.ua.attachDialog(dialog, this);
    const x = this.extra;
    if (x) {
      x.stopExpecting?.();
      x.stopExpecting = undefined;
      x.callId = x.fromTag = undefined;
      this.shed();
    }
  }

  /** Refresh per the shared rule, and end the subscription if the expiry passes unrefreshed. */
  private schedule(expires: number): void {
    if (expires <= 0) {
      this.setDeadlines(Infinity, Infinity);
      return;
    }
    const now = this.ua.options.clock.now();
    this.setDeadlines(now + refreshDelaySeconds(expires) * 1000, now + expires * 1000);
    if (this.grantedSeconds === expires) return;
    this.grantedSeconds = expires;
    if (this.stateValue !== 'init') this.setStatus(this.stateValue);
  }

  private get refreshAt(): number {
    return timeOf(this.ua.options.clock, this.refreshMark);
  }

  private get expiresAt(): number {
    return timeOf(this.ua.options.clock, this.expiryMark);
  }

  /** One deadline in the queue per subscription: the earlier of the two (as held: never before the time given). */
  private setDeadlines(refreshAt: number, expiresAt: number): void {
    const clock = this.ua.options.clock;
    this.refreshMark = markOf(clock, refreshAt);
    this.expiryMark = markOf(clock, expiresAt);
    const next = Math.min(this.refreshAt, this.expiresAt);
    const queue = this.options.deadlines ?? this.extra?.ownDeadlines;
    if (next === Infinity) queue?.delete(this);
    else (queue ?? (this.more().ownDeadlines = subscriptionDeadlines(this.ua.options.clock))).set(this, next);
  }

  private end(reason: string): void {
    this.setDeadlines(Infinity, Infinity);
    const x = this.extra;
    if (x) {
      x.initial = undefined;
      x.stopExpecting?.();
      x.stopExpecting = undefined;
    }
    if (this.dialog) {
      this.ua.detachDialog(this.dialog);
      this.dialog.terminate();
    }
    if (!this.ended()) {
      this.grantedSeconds = undefined;
      this.more().reason = reason;
      this.setStatus('terminated');
    }
    this.extra?.notifySubject?.complete();
  }

  /** Drops the extra object once nothing in it is needed any more (the usual case after the initial SUBSCRIBE). */
  private shed(): void {
    const x = this.extra;
    if (x && !x.callId && !x.statusSubject && !x.notifySubject && !x.initial && !x.stopExpecting && !x.ownDeadlines && !x.unsubscribing && x.reason === undefined) {
      this.extra = undefined;
    }
  }

  private setStatus(state: SubscriberState): void {
    this.stateValue = state;
    const listener = this.options.listener;
    const subject = this.extra?.statusSubject;
    if (!listener?.onStatus && !subject) return;
    const s = this.status;
    listener?.onStatus?.(this, s);
    subject?.next(s);
  }
}

const NONE = -1;
/** Each clock's epoch for marks: the first whole ms a subscription read from it. */
const epochs = new WeakMap<Clock, number>();

function epochOf(clock: Clock): number {
  let e = epochs.get(clock);
  if (e === undefined) epochs.set(clock, (e = Math.floor(clock.now())));
  return e;
}

/** A time as whole ms after the epoch, rounded up (a deadline may come later by less than 1 ms, never earlier). */
function markOf(clock: Clock, at: number): number {
  return at === Infinity ? NONE : smallInteger(Math.max(0, Math.ceil(at - epochOf(clock))));
}

function timeOf(clock: Clock, mark: number): number {
  return mark === NONE ? Infinity : mark + epochOf(clock);
}

/** §12.2.2 target refresh, keeping the new target as a string of its own, and only when it changed. */
function refreshOwnTarget(dialog: Dialog, notify: SipRequest, shared: Interner | undefined): void {
  const before = dialog.remoteTarget;
  dialog.refreshTarget(notify);
  if (dialog.remoteTarget !== before) dialog.remoteTarget = shared ? shared.string(dialog.remoteTarget) : ownString(dialog.remoteTarget);
  else dialog.remoteTarget = before;
}

/** The Expires of a 2xx to SUBSCRIBE (RFC 6665 §4.1.2.1: it MUST be there; the request's value if not). */
function grantedExpires(response: SipResponse, requested: number): number {
  try {
    return expiresOf(response.headers) ?? requested;
  } catch {
    return requested;
  }
}

/**
 * RFC 6665 §4.1.2.4: a dialog formed by a NOTIFY. We are the SUBSCRIBE's sender, so our URI and tag are the
 * NOTIFY's To; the route set is its Record-Route in order (we receive it, as a UAS does, §12.1.1).
 */
function dialogFromNotify(subscribe: SipRequest, notify: SipRequest, localContact: string): Dialog {
  const remote = notify.headers.get('From') ?? '';
  const remoteTag = parseNameAddr(remote).tag;
  const localTag = parseNameAddr(subscribe.headers.get('From') ?? '').tag;
  if (remoteTag === undefined || localTag === undefined) throw new Error('NOTIFY without tags cannot form a dialog');
  const contact = notify.headers.first('Contact');
  return new Dialog({
    callId: subscribe.headers.get('Call-ID') ?? '',
    localTag,
    remoteTag,
    local: subscribe.headers.get('From') ?? '',
    remote,
    remoteTarget: contact ? parseNameAddr(contact).uri : parseNameAddr(remote).uri,
    routeSet: notify.headers.list('Record-Route'),
    localSeq: parseCSeq(subscribe.headers.get('CSeq') ?? '').seq,
    remoteSeq: undefined,
    secure: false,
    state: 'confirmed',
    localContact,
  });
}
