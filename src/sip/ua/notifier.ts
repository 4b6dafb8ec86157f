/**
 * The notifier side of RFC 6665: accept a SUBSCRIBE (200, never 202, §4.2.1.1; 423 below Min-Expires;
 * 489 for another event package), form the dialog (§4.2.1), send a NOTIFY at once with the full state and
 * after every refresh (§4.2.1.2), NOTIFYs on change with Subscription-State, and the terminated NOTIFY on
 * unsubscribe, expiry (reason=timeout, §4.2.2) or by the owner's decision (deactivated, rejected …).
 */
import type { TimerHandle } from '../../util/clock.js';
import { Dialog } from '../dialog/dialog.js';
import { expiresOf } from '../headers/p-headers.js';
import type { IncomingRequest } from './incoming.js';
import { formatSubscriptionState, parseEvent, type TerminationReason } from './subscription-state.js';
import type { ClientResult, DialogUsage, UserAgent } from './user-agent.js';

export interface NotifierOptions {
  /** The event package this notifier serves, e.g. `reg`. */
  event: string;
  contentType: string;
  /** Used when the SUBSCRIBE has no Expires (RFC 3680 §5.2: 3761 s for reg). */
  defaultExpires: number;
  /** Below this (and not 0) a SUBSCRIBE gets 423 with Min-Expires (RFC 6665 §4.2.1.1). */
  minExpires?: number | undefined;
  /** Longer requests are shortened to this (§4.2.1.1: the notifier may shorten, never lengthen). */
  maxExpires?: number | undefined;
  /** The full state, for the NOTIFY after each accepted SUBSCRIBE (§4.2.1.2); called every time. */
  fullState(notifier: Notifier): Buffer | string;
  /** Extra headers on every NOTIFY (e.g. P-Asserted-Identity). */
  headers?: ReadonlyArray<readonly [string, string]> | undefined;
  /** Called once when the subscription ends, with the reason. */
  onTerminated?: ((reason: TerminationReason, notifier: Notifier) => void) | undefined;
}

export class Notifier implements DialogUsage {
  readonly methods = ['SUBSCRIBE'] as const;
  state: 'active' | 'terminated' = 'active';
  /** Clock time (ms) at which the subscription runs out. */
  expiresAt = 0;
  private expiryTimer: TimerHandle | undefined;
  /** The Event value of the SUBSCRIBE, echoed in every NOTIFY (§8.2.1: id included). */
  private readonly eventValue: string;

  private constructor(
    private readonly ua: UserAgent,
    readonly dialog: Dialog,
    private readonly options: NotifierOptions,
    /** The SUBSCRIBE that created the subscription. */
    readonly subscribe: IncomingRequest,
  ) {
    this.eventValue = subscribe.request.headers.get('Event') ?? options.event;
  }

  /**
   * Answers an out-of-dialog SUBSCRIBE and, when it is accepted, forms the dialog and sends the first NOTIFY.
   * Returns undefined when it was refused (the response says why).
   */
  static accept(ua: UserAgent, incoming: IncomingRequest, options: NotifierOptions): Notifier | undefined {
    const expires = checkSubscribe(incoming, options);
    if (expires === undefined) return undefined;
    const dialog = Dialog.asUas(incoming.request, incoming.localTag, ua.contact);
    const notifier = new Notifier(ua, dialog, options, incoming);
    ua.attachDialog(dialog, notifier);
    incoming.respond(200, { headers: [['Expires', String(expires)], ['Contact', `<${ua.contact}>`]] });
    notifier.start(expires);
    return notifier;
  }

  /** Seconds left, rounded down. */
  get remaining(): number {
    return Math.max(0, Math.floor((this.expiresAt - this.ua.options.clock.now()) / 1000));
  }

  /** A NOTIFY with the given body and `active;expires=<remaining>` (§4.2.2). */
  notify(body: Buffer | string, contentType = this.options.contentType): Promise<ClientResult | undefined> {
    if (this.state === 'terminated') return Promise.resolve(undefined);
    return this.send(formatSubscriptionState({ state: 'active', expires: this.remaining }), body, contentType);
  }

  /** The terminated NOTIFY (§4.2.2) with `reason`, carrying `body` (default: the full state), then the dialog ends. */
  async terminate(reason: TerminationReason, body?: Buffer | string): Promise<ClientResult | undefined> {
    if (this.state === 'terminated') return undefined;
    this.end(reason);
    const content = body ?? this.options.fullState(this);
    const result = await this.send(formatSubscriptionState({ state: 'terminated', reason }), content, this.options.contentType, true);
    this.dialog.terminate();
    return result;
  }

  /** Forgets the subscription without signalling (node shutdown). */
  close(): void {
    if (this.state === 'terminated') return;
    this.end('noresource');
    this.dialog.terminate();
  }

  // ---- DialogUsage: refreshes and unsubscribes arrive here ----

  onRequest(incoming: IncomingRequest): void {
    const expires = checkSubscribe(incoming, this.options);
    if (expires === undefined) return;
    incoming.respond(200, { headers: [['Expires', String(expires)], ['Contact', `<${this.ua.contact}>`]] });
    this.dialog.refreshTarget(incoming.request);
    if (expires === 0) {
      // §4.2.1.4 (unsubscribe): the last NOTIFY says terminated, with the state as it is.
      void this.terminate('timeout');
      return;
    }
    this.setExpiry(expires);
    void this.notify(this.options.fullState(this));
  }

  // ---- internals ----

  private start(expires: number): void {
    if (expires === 0) {
      // A fetch (§4.4.3 of RFC 3265, kept by RFC 6665): one NOTIFY with the state, subscription over.
      void this.terminate('timeout');
      return;
    }
    this.setExpiry(expires);
    void this.notify(this.options.fullState(this));
  }

  private setExpiry(expires: number): void {
    this.expiryTimer?.cancel();
    const clock = this.ua.options.clock;
    this.expiresAt = clock.now() + expires * 1000;
    this.expiryTimer = clock.setTimeout(() => {
      this.expiryTimer = undefined;
      void this.terminate('timeout');
    }, expires * 1000);
  }

  private async send(subscriptionState: string, body: Buffer | string, contentType: string, last = false): Promise<ClientResult | undefined> {
    const headers: Array<[string, string]> = [
      ['Event', this.eventValue],
      ['Subscription-State', subscriptionState],
      ...((this.options.headers ?? []) as Array<[string, string]>),
    ];
    let result: ClientResult;
    try {
      const request = this.dialog.createRequest('NOTIFY', { headers, body, contentType });
      result = await this.ua.sendInDialog(this.dialog, request);
    } catch (err) {
      this.ua.options.trace?.note({ node: this.ua.node, level: 'warn', text: `NOTIFY not sent: ${(err as Error).message}`, clause: 'RFC 6665 §4.2.2' });
      if (!last) this.end('giveup');
      return undefined;
    }
    const status = result.response.status;
    if (status >= 300 && !last) {
      // RFC 6665 §4.2.2: a NOTIFY that fails (481, timeout, transport error, other errors) ends the subscription.
      this.ua.options.trace?.note({
        node: this.ua.node,
        level: 'info',
        text: `subscription ${this.dialog.callId} removed: NOTIFY got ${status} ${result.response.reason}`,
        clause: 'RFC 6665 §4.2.2',
      });
      this.end('giveup');
    }
    return result;
  }

  private end(reason: TerminationReason): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.expiryTimer?.cancel();
    this.expiryTimer = undefined;
    this.ua.detachDialog(this.dialog);
    this.options.onTerminated?.(reason, this);
  }
}

/**
 * RFC 6665 §4.2.1.1: the Event package must be ours (489 with Allow-Events otherwise); the Expires is taken,
 * shortened to the maximum, or refused with 423 below the minimum. Returns the granted duration.
 */
function checkSubscribe(incoming: IncomingRequest, options: NotifierOptions): number | undefined {
  const h = incoming.request.headers;
  let requested: number | undefined;
  try {
    const ev = parseEvent(h.get('Event') ?? '');
    if (ev.package !== options.event.toLowerCase()) {
      incoming.respond(489, { reason: 'Bad Event', headers: [['Allow-Events', options.event]] });
      return undefined;
    }
    requested = expiresOf(h);
  } catch (err) {
    incoming.respond(400, { reason: `Bad Request (${(err as Error).message})` });
    return undefined;
  }
  let expires = requested ?? options.defaultExpires;
  if (expires !== 0 && options.minExpires !== undefined && expires < options.minExpires) {
    incoming.respond(423, { reason: 'Interval Too Brief', headers: [['Min-Expires', String(options.minExpires)]] });
    return undefined;
  }
  if (options.maxExpires !== undefined && expires > options.maxExpires) expires = options.maxExpires;
  return expires;
}
