/**
 * The subscriber side of RFC 6665: SUBSCRIBE, the dialog it forms (from the 2xx, or from a NOTIFY that
 * overtakes it, §4.1.2.4), refreshes before expiry (§4.1.2.1), NOTIFY handling with Subscription-State
 * (§4.1.3), and unsubscribing with Expires 0 (§4.1.2.3).
 */
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import type { TimerHandle } from '../../util/clock.js';
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
  headers?: ReadonlyArray<readonly [string, string]> | undefined;
  onChallenge?: ChallengeHandler | undefined;
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

export class Subscription implements DialogUsage {
  readonly methods = ['NOTIFY'] as const;
  readonly status$: BehaviorSubject<SubscriptionStatus> = new BehaviorSubject<SubscriptionStatus>({ state: 'init' });
  private readonly notifySubject = new Subject<Notification>();
  readonly notifications$: Observable<Notification> = this.notifySubject.asObservable();
  dialog: Dialog | undefined;
  private readonly callId: string;
  private readonly fromTag: string;
  private initial: SipRequest | undefined;
  private stopExpecting: (() => void) | undefined;
  private refreshTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private unsubscribing = false;

  constructor(
    private readonly ua: UserAgent,
    readonly options: SubscriptionOptions,
  ) {
    this.callId = ua.newCallId();
    this.fromTag = ua.newTag();
  }

  get state(): SubscriberState {
    return this.status$.value.state;
  }

  private ended(): boolean {
    return this.status$.value.state === 'terminated';
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
    const result = await this.ua.send(request, { onChallenge: this.options.onChallenge });
    this.initial = result.request;
    if (this.ended()) return result;
    const { response } = result;
    if (response.status >= 200 && response.status < 300) {
      if (!this.dialog) {
        const dialog = Dialog.asUac(result.request, response, this.ua.contact);
        this.attach(dialog);
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
    this.cancelTimers();
    const result = await dialog.request<ClientResult>('SUBSCRIBE', { headers: this.subscribeHeaders(0) });
    if (result.response.status >= 300) this.end('unsubscribed');
    else if (!this.ended()) {
      // Wait for the final NOTIFY, but not forever (64·T1 as for any transaction).
      this.expiryTimer = this.ua.options.clock.setTimeout(() => this.end('unsubscribed'), 64 * this.ua.options.transactions.timers.t1);
    }
  }

  /** Ends locally without signalling: timers cancelled, dialog forgotten. */
  close(): void {
    this.end('closed');
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
        this.attach(dialogFromNotify(this.initial!, request, this.ua.contact));
        this.dialog!.checkRemoteRequest(request);
      } catch (err) {
        incoming.respond(400, { reason: `Bad Request (${(err as Error).message})` });
        return;
      }
    }
    // §4.1.3: NOTIFY is a target refresh request.
    this.dialog!.refreshTarget(request);
    incoming.respond(200);
    const contentType = request.headers.get('Content-Type');
    this.notifySubject.next({ request, subscriptionState: state, body: request.body, contentType });
    if (state.state === 'terminated') {
      this.end(state.reason ?? 'terminated');
      return;
    }
    if (this.unsubscribing) return;
    if (state.state === 'active' || state.state === 'pending') {
      if (state.expires !== undefined) this.schedule(state.expires);
      this.setStatus({ state: state.state, expires: state.expires ?? this.status$.value.expires });
    }
  }

  // ---- internals ----

  private subscribeHeaders(expires: number): Array<[string, string]> {
    const h: Array<[string, string]> = [['Event', this.options.event]];
    if (this.options.accept) h.push(['Accept', this.options.accept]);
    h.push(['Expires', String(expires)]);
    for (const [n, v] of this.options.headers ?? []) h.push([n, v]);
    return h;
  }

  private attach(dialog: Dialog): void {
    this.dialog = dialog;
    this.ua.attachDialog(dialog, this);
    this.stopExpecting?.();
    this.stopExpecting = undefined;
  }

  /** Refresh per the shared rule, and end the subscription if the expiry passes unrefreshed. */
  private schedule(expires: number): void {
    this.cancelTimers();
    const clock = this.ua.options.clock;
    if (expires <= 0) return;
    this.refreshTimer = clock.setTimeout(() => {
      this.refreshTimer = undefined;
      this.refresh().catch(() => undefined);
    }, refreshDelaySeconds(expires) * 1000);
    this.expiryTimer = clock.setTimeout(() => this.end('timeout'), expires * 1000);
    const s = this.status$.value;
    if (s.state !== 'init') this.setStatus({ ...s, expires });
  }

  private cancelTimers(): void {
    this.refreshTimer?.cancel();
    this.expiryTimer?.cancel();
    this.refreshTimer = undefined;
    this.expiryTimer = undefined;
  }

  private end(reason: string): void {
    this.cancelTimers();
    this.stopExpecting?.();
    this.stopExpecting = undefined;
    if (this.dialog) {
      this.ua.detachDialog(this.dialog);
      this.dialog.terminate();
    }
    if (!this.ended()) this.setStatus({ state: 'terminated', reason });
    this.notifySubject.complete();
  }

  private setStatus(s: SubscriptionStatus): void {
    this.status$.next(s);
  }
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
