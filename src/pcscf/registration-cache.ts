/**
 * What the P-CSCF keeps of each registered contact (TS 24.229 §5.2.2.1 after the 200): the public identities
 * of the implicit set (P-Associated-URI, the first is the default), the Service-Route, where the UE is (address,
 * port, transport, connection), the SA in use, and when it expires. Sessions (§5.2.6) read it to assert
 * identities and to check routes; it expires on its own timer.
 */
import { Subject, type Observable } from 'rxjs';
import type { TransportAddress } from '../sip/transport/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { SecurityAssociation } from './security-associations.js';

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

/** Contacts compared as written, the host part case-insensitively (RFC 3261 §19.1.4 would also ignore order of params). */
export function contactKey(contact: string): string {
  return contact.trim().toLowerCase();
}

export class RegistrationCache {
  private readonly byContact = new Map<string, { reg: PcscfRegistration; timer: TimerHandle }>();
  private readonly changes = new Subject<RegistrationChange>();
  /** Every change: sessions and the reg-event subscriber follow it; the trace notes come from the P-CSCF. */
  readonly changes$: Observable<RegistrationChange> = this.changes.asObservable();

  constructor(private readonly clock: Clock) {}

  /** Stores or refreshes a registration; its timer removes it at expiresAt (TS 24.229 §5.2.2.1). */
  put(reg: PcscfRegistration): void {
    const key = contactKey(reg.contact);
    const old = this.byContact.get(key);
    old?.timer.cancel();
    const timer = this.clock.setTimeout(() => this.remove(reg.contact, 'expired'), Math.max(0, reg.expiresAt - this.clock.now()));
    this.byContact.set(key, { reg, timer });
    this.changes.next({ kind: old ? 'refreshed' : 'registered', registration: reg });
  }

  remove(contact: string, reason: RemovalReason): PcscfRegistration | undefined {
    const key = contactKey(contact);
    const entry = this.byContact.get(key);
    if (!entry) return undefined;
    entry.timer.cancel();
    this.byContact.delete(key);
    this.changes.next({ kind: 'removed', registration: entry.reg, reason });
    return entry.reg;
  }

  get(contact: string): PcscfRegistration | undefined {
    return this.byContact.get(contactKey(contact))?.reg;
  }

  /** Registrations whose implicit set holds `impu` (compared case-insensitively, as IMPU keys are). */
  byImpu(impu: string): PcscfRegistration[] {
    const k = impu.trim().toLowerCase();
    return this.list().filter((r) => r.impus.some((u) => u.toLowerCase() === k) || r.registeredImpu.toLowerCase() === k);
  }

  /** Registrations made from one UE address (and port, when given). */
  byUe(address: string, port?: number): PcscfRegistration[] {
    return this.list().filter((r) => r.ue.address === address && (port === undefined || r.ue.port === port));
  }

  list(): PcscfRegistration[] {
    return [...this.byContact.values()].map((e) => e.reg);
  }

  get size(): number {
    return this.byContact.size;
  }

  /** Cancels every timer; registrations are dropped without notice to anyone but the changes stream. */
  clear(): void {
    for (const { reg, timer } of [...this.byContact.values()]) {
      timer.cancel();
      this.changes.next({ kind: 'removed', registration: reg, reason: 'stopped' });
    }
    this.byContact.clear();
  }

  close(): void {
    this.clear();
    this.changes.complete();
  }
}
