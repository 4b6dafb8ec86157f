/**
 * The P-CSCF's subscription to the reg event of each registered default public identity (TS 24.229 §5.2.3,
 * RFC 3680), and what its NOTIFYs do to the registration cache (§5.2.5.1: a registration or contact that the
 * S-CSCF reports terminated is forgotten here too). Built on the UA core's Subscription (RFC 6665), which
 * refreshes before expiry and answers every NOTIFY.
 */
import type { Subscription as RxSubscription } from 'rxjs';
import { parseRegInfo, REGINFO_CONTENT_TYPE, type RegInfo } from '../scscf/reginfo.js';
import { Subscription, type Notification } from '../sip/ua/subscription.js';
import type { UserAgent } from '../sip/ua/user-agent.js';
import type { TraceBus } from '../trace/events.js';
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

interface Watch {
  sub: Subscription;
  listeners: RxSubscription[];
}

export class RegEventSubscriber {
  private readonly watches = new Map<string, Watch>();
  private readonly cacheListener: RxSubscription;
  private stopped = false;

  constructor(private readonly o: RegEventSubscriberOptions) {
    // A default identity with no registration left needs no subscription (the S-CSCF ends its side too).
    this.cacheListener = o.cache.changes$.subscribe((c) => {
      if (c.kind !== 'removed') return;
      const impu = c.registration.impus[0];
      if (impu && o.cache.byImpu(impu).length === 0) this.drop(impu);
    });
  }

  /** The subscription for a default identity, if one is running. */
  subscription(defaultImpu: string): Subscription | undefined {
    return this.watches.get(key(defaultImpu))?.sub;
  }

  get size(): number {
    return this.watches.size;
  }

  /** §5.2.3: after the 200 to an initial registration, subscribe to the reg event of the default identity. */
  watch(reg: PcscfRegistration): void {
    if (this.stopped) return;
    const impu = reg.impus[0];
    if (!impu || this.watches.has(key(impu))) return;
    if (reg.serviceRoute.length === 0) {
      this.note(`no Service-Route for ${impu}: the reg-event SUBSCRIBE has no way to the S-CSCF, not sent`, 'warn');
      return;
    }
    const sub = new Subscription(this.o.ua, {
      event: 'reg',
      target: impu,
      from: `<${this.o.identity}>`,
      to: `<${impu}>`,
      accept: REGINFO_CONTENT_TYPE,
      expires: this.o.expires ?? 600_000,
      routeSet: reg.serviceRoute,
      headers: [
        ['P-Asserted-Identity', `<${this.o.identity}>`],
        ['P-Charging-Vector', this.o.chargingVector()],
      ],
    });
    const watch: Watch = { sub, listeners: [] };
    this.watches.set(key(impu), watch);
    watch.listeners.push(
      sub.notifications$.subscribe((n) => this.onNotify(impu, n)),
      sub.status$.subscribe((s) => {
        if (s.state !== 'terminated') return;
        if (this.watches.get(key(impu)) === watch) this.watches.delete(key(impu));
        for (const l of watch.listeners) l.unsubscribe();
        if (!this.stopped) this.note(`reg-event subscription for ${impu} ended (${s.reason ?? 'terminated'})`);
      }),
    );
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
    for (const w of [...this.watches.values()]) w.sub.close();
    this.watches.clear();
  }

  private drop(impu: string): void {
    const w = this.watches.get(key(impu));
    if (!w) return;
    this.watches.delete(key(impu));
    w.sub.close();
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
