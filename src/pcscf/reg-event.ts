/**
 * The P-CSCF's subscription to the reg event of each registered default public identity (TS 24.229 §5.2.3,
 * RFC 3680), and what its NOTIFYs do to the registration cache (§5.2.5.1: a registration or contact that the
 * S-CSCF reports terminated is forgotten here too). Built on the UA core's Subscription (RFC 6665), which
 * refreshes before expiry (§4.1.2.1) and answers every NOTIFY (§4.1.3).
 */
import type { Subscription as RxSubscription } from 'rxjs';
import { parseRegInfo, REGINFO_CONTENT_TYPE, type RegInfo } from '../scscf/reginfo.js';
import {
  Subscription,
  subscriptionDeadlines,
  type Notification,
  type SubscriptionDeadlines,
  type SubscriptionDefaults,
  type SubscriptionListener,
  type SubscriptionStatus,
} from '../sip/ua/subscription.js';
import type { UserAgent } from '../sip/ua/user-agent.js';
import type { TraceBus } from '../trace/events.js';
import { Interner } from '../util/interner.js';
import { ownString } from '../util/own-string.js';
import type { PcscfRegistration, RegistrationCache, RemovalReason } from './registration-cache.js';

export interface RegEventSubscriberOptions {
  node: string;
  trace: TraceBus;
  ua: UserAgent;
  cache: RegistrationCache;
  /** The P-CSCF's own SIP URI: From and P-Asserted-Identity of the SUBSCRIBE (§5.2.3). */
  identity: string;
  /** A fresh P-Charging-Vector value per SUBSCRIBE (§5.2.3). */
  chargingVector: () => string;
  /** Requested duration (§5.2.3: 600 000 s; the S-CSCF may shorten it). */
  expires?: number;
}

const CLAUSE = 'TS 24.229 §5.2.3';

/**
 * One watch per registered default identity, for as long as the registration lasts (600,000 s): the map holds
 * the Subscription itself, which tells this object (its listener, shared by all) of NOTIFYs and of its end,
 * and whose refresh and expiry are deadlines on this node's one queue — no subject, closure or timer per UE.
 */
export class RegEventSubscriber implements SubscriptionListener {
  private readonly watches = new Map<string, Subscription>();
  private readonly cacheListener: RxSubscription;
  private readonly deadlines: SubscriptionDeadlines;
  /** From and P-Asserted-Identity of every SUBSCRIBE: the same two strings for all (§5.2.3). */
  private readonly from: string;
  private readonly assertedHeader: readonly [string, string];
  /**
   * What every watch asks alike (§5.2.3: Event reg, Accept reginfo, From this P-CSCF, 600,000 s, the shared
   * listener, queue and header source): one object for all; each watch holds only its target and route set.
   */
  private readonly common: SubscriptionDefaults;
  private stopped = false;

  constructor(private readonly o: RegEventSubscriberOptions) {
    this.deadlines = subscriptionDeadlines(o.ua.options.clock);
    this.from = ownString(`<${o.identity}>`);
    this.assertedHeader = ['P-Asserted-Identity', this.from];
    this.common = {
      event: 'reg',
      from: this.from,
      accept: REGINFO_CONTENT_TYPE,
      expires: o.expires ?? 600_000,
      // A fresh P-Charging-Vector for each SUBSCRIBE, initial or refresh (§5.2.3).
      headers: this.subscribeHeaders,
      listener: this,
      deadlines: this.deadlines,
      // The S-CSCFs' Contacts and Record-Routes, the same for all the UEs each serves.
      shared: new Interner(1024),
    };
    // A default identity with no registration left needs no subscription (the S-CSCF ends its side too).
    this.cacheListener = o.cache.changes$.subscribe((c) => {
      if (c.kind !== 'removed') return;
      const impu = c.registration.impus[0];
      if (impu && o.cache.byImpu(impu).length === 0) this.drop(impu);
    });
  }

  /** The subscription for a default identity, if one is running. */
  subscription(defaultImpu: string): Subscription | undefined {
    return this.watches.get(key(defaultImpu));
  }

  get size(): number {
    return this.watches.size;
  }

  /** §5.2.3: after the 200 to an initial registration, subscribe to the reg event of the default identity. */
  watch(registered: PcscfRegistration): void {
    if (this.stopped) return;
    // The cache's own copy: its strings are its own and its Service-Route shared (registration-cache.ts); the
    // registration as handed here may still be cut from the 200.
    const reg = this.o.cache.get(registered.contact) ?? registered;
    const impu = reg.impus[0];
    if (!impu || this.watches.has(key(impu))) return;
    if (reg.serviceRoute.length === 0) {
      this.note(`no Service-Route for ${impu}: the reg-event SUBSCRIBE has no way to the S-CSCF, not sent`, 'warn');
      return;
    }
    const target = reg === registered ? ownString(impu) : impu;
    const sub = new Subscription(this.o.ua, this.common, target, reg.serviceRoute);
    const k = key(target);
    this.watches.set(k === target ? target : ownString(k), sub);
    this.note(`SUBSCRIBE to the reg event of ${impu} via ${reg.serviceRoute.join(', ')}`);
    sub.subscribe().then(
      ({ response }) => {
        if (response.status >= 300) this.note(`reg-event SUBSCRIBE for ${impu} refused: ${response.status} ${response.reason}`, 'warn');
      },
      (err: unknown) => {
        this.note(`reg-event SUBSCRIBE for ${impu} not sent: ${(err as Error).message}`, 'warn');
        sub.close();
      },
    );
  }

  /** Ends every subscription locally (no signalling: the node is going away). */
  stop(): void {
    this.stopped = true;
    this.cacheListener.unsubscribe();
    for (const sub of [...this.watches.values()]) sub.close();
    this.watches.clear();
    this.deadlines.clear();
  }

  // ---- SubscriptionListener: every watch reports here ----

  onNotification(sub: Subscription, n: Notification): void {
    this.onNotify(sub.target, n);
  }

  onStatus(sub: Subscription, s: SubscriptionStatus): void {
    if (s.state !== 'terminated') return;
    const impu = sub.target;
    if (this.watches.get(key(impu)) === sub) this.watches.delete(key(impu));
    if (!this.stopped) this.note(`reg-event subscription for ${impu} ended (${s.reason ?? 'terminated'})`);
  }

  // ---- internals ----

  private readonly subscribeHeaders = (): Array<readonly [string, string]> => [this.assertedHeader, ['P-Charging-Vector', this.o.chargingVector()]];

  private drop(impu: string): void {
    const sub = this.watches.get(key(impu));
    if (!sub) return;
    this.watches.delete(key(impu));
    sub.close();
  }

  /**
   * §5.2.5.1: a registration element in state terminated removes every contact registered for that identity;
   * a contact in state terminated (expired, deactivated, rejected, unregistered, probation) removes that contact.
   */
  private onNotify(impu: string, n: Notification): void {
    let info: RegInfo;
    try {
      info = parseRegInfo(n.body.toString('utf8'));
    } catch (e) {
      this.note(`NOTIFY for ${impu} with an unreadable reginfo body: ${(e as Error).message}`, 'warn');
      return;
    }
    for (const r of info.registrations) {
      if (r.state === 'terminated') {
        for (const reg of this.o.cache.byImpu(r.aor)) this.remove(reg, 'network', `registration of ${r.aor} terminated`);
        continue;
      }
      for (const c of r.contacts) {
        if (c.state !== 'terminated') continue;
        const reg = this.o.cache.get(c.uri);
        if (reg) this.remove(reg, c.event === 'expired' ? 'expired' : 'network', `contact ${c.uri} ${c.event}`);
      }
    }
  }

  private remove(reg: PcscfRegistration, reason: RemovalReason, why: string): void {
    if (!this.o.cache.remove(reg.contact, reason)) return;
    this.o.trace.note({ node: this.o.node, level: 'info', text: `reg event: ${why}; ${reg.contact} forgotten`, clause: 'TS 24.229 §5.2.5.1' });
  }

  private note(text: string, level: 'info' | 'warn' = 'info'): void {
    this.o.trace.note({ node: this.o.node, level, text, clause: CLAUSE });
  }
}

function key(impu: string): string {
  return impu.trim().toLowerCase();
}
