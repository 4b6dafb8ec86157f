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
 * For as long as it lasts (600,000 s for reg, TS 24.229 §5.2.3) a subscription keeps its dialog's identifiers
 * (RFC 3261 §12: Call-ID, tags, remote target, route set, CSeq), its state and two deadlines — not the
 * SUBSCRIBE, which it drops at the final response (§4.1.2.4 needs it only until then), nor a timer of its own
 * when a node's queue is given. Subjects are made only for whoever reads `status$` or `notifications$`.
 */
export class Subscription implements DialogUsage, DeadlineSlot {
  readonly methods: readonly string[] = NOTIFY_ONLY;
  dialog: Dialog | undefined;
  /** Position in the deadline queue (KeyedDeadlineQueue); -1 when none is set. */
  deadlineSlot = -1;
  private readonly callId: string;
  private readonly fromTag: string;
  private current: SubscriptionStatus = INIT;
  private statusSubject: BehaviorSubject<SubscriptionStatus> | undefined;
  private notifySubject: Subject<Notification> | undefined;
  /** The SUBSCRIBE as sent, until its final response: a NOTIFY that overtakes the 2xx forms the dialog from it. */
  private initial: SipRequest | undefined;
  private stopExpecting: (() => void) | undefined;
  /** Clock times (ms) of the refresh and of the end; Infinity when none is due. */
  private refreshAt = Infinity;
  private expiresAt = Infinity;
  private ownDeadlines: SubscriptionDeadlines | undefined;
  private unsubscribing = false;

  constructor(
    private readonly ua: UserAgent,
    readonly options: SubscriptionOptions,
  ) {
    this.callId = ua.newCallId();
    this.fromTag = ua.newTag();
  }

  /** The status as a BehaviorSubject (made on first use). */
  get status$(): BehaviorSubject<SubscriptionStatus> {
    return (this.statusSubject ??= new BehaviorSubject<SubscriptionStatus>(this.current));
  }

  /** Every NOTIFY accepted, until the subscription ends (made on first use). */
  get notifications$(): Observable<Notification> {
    if (this.notifySubject) return this.notifySubject.asObservable();
    if (this.ended()) return EMPTY;
    return (this.notifySubject = new Subject<Notification>()).asObservable();
  }

  get status(): SubscriptionStatus {
    return this.current;
  }

  get state(): SubscriberState {
    return this.current.state;
  }

  /** Whether the initial SUBSCRIBE is still kept (only until its final response). */
  get holdsInitialRequest(): boolean {
    return this.initial !== undefined;
  }

  private ended(): boolean {
    return this.current.state === 'terminated';
  }

  /** Sends the initial SUBSCRIBE; resolves with its final response. A non-2xx ends the subscription. */
  async subscribe(): Promise<ClientResult> {
    if (this.state !== 'init') throw new Error(`subscription to ${this.options.event} already ${this.state}`);
    this.stopExpecting = this.ua.expectDialog(this.callId, this.fromTag, this);
    const request = this.ua.createRequest('SUBSCRIBE', this.options.target, {
      from: this.options.from,
      fromTag: this.fromTag,
      to: this.options.to,
      callId: this.callId,
      routeSet: this.options.routeSet,
      headers: this.subscribeHeaders(this.options.expires),
    });
    this.initial = request.clone();
    let result: ClientResult;
    try {
      result = await this.ua.send(request, { onChallenge: this.options.onChallenge });
    } finally {
      this.initial = undefined;
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
      if (this.state === 'init') this.setStatus({ state: 'pending', expires: granted });
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
    this.unsubscribing = true;
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
      this.end(this.unsubscribing ? 'unsubscribed' : 'timeout');
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
        if (!this.initial) throw new Error('no SUBSCRIBE outstanding');
        this.attach(this.ownDialog(dialogFromNotify(this.initial, request, this.ua.contact)));
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
    this.notifySubject?.next(notification);
    if (state.state === 'terminated') {
      this.end(state.reason ?? 'terminated');
      return;
    }
    if (this.unsubscribing) return;
    if (state.state === 'active' || state.state === 'pending') {
      if (state.expires !== undefined) this.schedule(state.expires);
      this.setStatus({ state: state.state, expires: state.expires ?? this.current.expires });
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
    return new Dialog({
      callId: d.callId === this.callId ? this.callId : ownString(d.callId),
      localTag: d.localTag === this.fromTag ? this.fromTag : ownString(d.localTag),
      remoteTag: ownString(d.remoteTag),
      local: ownString(d.local),
      remote: ownString(d.remote),
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
    this.stopExpecting?.();
    this.stopExpecting = undefined;
  }

  /** Refresh per the shared rule, and end the subscription if the expiry passes unrefreshed. */
  private schedule(expires: number): void {
    if (expires <= 0) {
      this.setDeadlines(Infinity, Infinity);
      return;
    }
    const now = this.ua.options.clock.now();
    this.setDeadlines(now + refreshDelaySeconds(expires) * 1000, now + expires * 1000);
    const s = this.current;
    if (s.state !== 'init' && s.expires !== expires) this.setStatus({ ...s, expires });
  }

  /** One deadline in the queue per subscription: the earlier of the two. */
  private setDeadlines(refreshAt: number, expiresAt: number): void {
    this.refreshAt = refreshAt;
    this.expiresAt = expiresAt;
    const next = Math.min(refreshAt, expiresAt);
    const queue = this.options.deadlines ?? this.ownDeadlines;
    if (next === Infinity) queue?.delete(this);
    else (queue ?? (this.ownDeadlines = subscriptionDeadlines(this.ua.options.clock))).set(this, next);
  }

  private end(reason: string): void {
    this.setDeadlines(Infinity, Infinity);
    this.initial = undefined;
    this.stopExpecting?.();
    this.stopExpecting = undefined;
    if (this.dialog) {
      this.ua.detachDialog(this.dialog);
      this.dialog.terminate();
    }
    if (!this.ended()) this.setStatus({ state: 'terminated', reason });
    this.notifySubject?.complete();
  }

  private setStatus(s: SubscriptionStatus): void {
    this.current = s;
    this.options.listener?.onStatus?.(this, s);
    this.statusSubject?.next(s);
  }
}

const INIT: SubscriptionStatus = Object.freeze({ state: 'init' });

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
