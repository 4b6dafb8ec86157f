import type { SipAuthDataItem } from '../../diameter/cx/common.js';
import { ExperimentalResultCode as X, ServerAssignmentType as SAT, UserDataAlreadyAvailable } from '../../diameter/cx/constants.js';
import type { MultimediaAuthAnswer } from '../../diameter/cx/multimedia-auth.js';
import type { ServerAssignmentAnswer } from '../../diameter/cx/server-assignment.js';
import { ResultCode } from '../../diameter/result-codes.js';
import { decodeAkaNonce, decodeAuts, DigestInputError } from '../../sip/auth/digest.js';
import { parseCredentials, type Credentials } from '../../sip/headers/auth.js';
import { parseContacts, type ContactValue } from '../../sip/headers/contact.js';
import { formatParams } from '../../sip/headers/lexical.js';
import { parseNameAddr } from '../../sip/headers/name-addr.js';
import { expiresOf, parseOptionTags } from '../../sip/headers/p-headers.js';
import type { SipRequest, SipResponse } from '../../sip/message.js';
import { createResponse } from '../../sip/transaction/response.js';
import type { ReceivedMessage } from '../../sip/transport/types.js';
import { parseUri, uriEquals } from '../../sip/uri.js';
import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import { DeadlineQueue } from '../../util/deadline-queue.js';
import { ownString } from '../../util/own-string.js';
import type { Random } from '../../util/random.js';
import { HssUnavailableError, type HssLink } from '../hss-link.js';
import { refusal } from '../respond.js';
import { parseUserProfile, ProfileError, type UserProfile } from '../user-profile.js';
import { ChallengeBook, ChallengeError, makeChallenge, marScheme, verifyAnswer } from './challenges.js';
import { impuKey, type ContactBinding, type RegistrationStore, type SubscriptionRegistration } from './registration-store.js';
import type { ContactEvent } from '../reginfo.js';

/** One contact's change, as the reg event package reports it (RFC 3680 §5.3, TS 24.229 §5.4.2.1.2). */
export interface ContactChange {
  binding: ContactBinding;
  state: 'active' | 'terminated';
  event: ContactEvent;
}

/**
 * A change of a subscription's registration: the registration after the change (undefined when gone), the
 * one before, and what happened to each contact.
 */
export interface RegistrationChange {
  impi: string;
  before: SubscriptionRegistration | undefined;
  after: SubscriptionRegistration | undefined;
  contacts: ContactChange[];
  /** Why the whole registration ended, when it did (Subscription-State reason, RFC 6665 §4.1.3). */
  ended?: 'noresource' | 'deactivated' | 'rejected' | 'timeout';
}

export interface RegistrarOptions {
  node: string;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  store: RegistrationStore;
  hss: HssLink;
  /** Server-Name in MAR/SAR (TS 29.228 §6.3.1), e.g. `sip:scscf1.ims.mnc001.mcc001.3gppnetwork.org:5060`. */
  serverName: string;
  /** Service-Route URI (RFC 3608), contract: `sip:orig@<own ip>:<port>;lr`. */
  serviceRoute: string;
  /** Realm of AKA challenges (contract: the home domain). */
  realm: string;
  /** Warn-agent of Warning headers: this node's address:port. */
  warnAgent: string;
  /** Registrations shorter than this are refused with 423 (RFC 3261 §10.3 step 7). Seconds. */
  minExpires: number;
  /** Registrations longer than this are shortened (TS 24.229 §5.4.1.2.2). Seconds. */
  maxExpires: number;
  /** Expiry when the REGISTER names none (RFC 3261 §10.2.1.1 lets the registrar choose). Seconds. */
  defaultExpires: number;
  /** How long a challenge stays answerable, ms. */
  challengeLifetimeMs?: number;
  /** Told of every registration change (the reg event notifier). */
  onChange?: (change: RegistrationChange) => void;
}

/** Option tags this registrar understands in Require (RFC 3261 §8.2.2.3; RFC 3327 path; TS 24.229 sec-agree is the P-CSCF's). */
const SUPPORTED = new Set(['path', 'sec-agree']);
/** Integrity-protected values that vouch for the UE (TS 24.229 §5.4.1.2.1, §7.2A.1). */
const PROTECTED = new Set(['yes', 'tls-yes', 'ip-assoc-yes']);

/** The outcome of one step: carry on, or answer with this. */
type Step<T> = { ok: true; value: T } | { ok: false; response: SipResponse };

/**
 * The S-CSCF registrar (TS 24.229 §5.4.1, RFC 3261 §10.3): authentication with vectors from the HSS (MAR),
 * binding updates, the HSS told of every assignment change (SAR), expiry, and user, timeout and network
 * de-registration. Re-registrations that the P-CSCF marks integrity-protected="yes" for a user already
 * registered here skip the challenge (§5.4.1.2.1: "the S-CSCF may skip authentication"); all others are
 * challenged.
 */
export class Registrar {
  readonly challenges: ChallengeBook;
  /** Every registration's earliest contact expiry, on one timer (DeadlineQueue): not a Timeout and closure per UE. */
  private readonly expiries: DeadlineQueue<string>;
  private stopped = false;
  private dateSecond = NaN;
  private dateText = '';

  constructor(private readonly o: RegistrarOptions) {
    this.challenges = new ChallengeBook(o.clock, o.challengeLifetimeMs);
    this.expiries = new DeadlineQueue(o.clock, (impi) => void this.expire(impi));
  }

  /**
   * After a restart: every registration the store kept gets its expiry timer again. One whose contacts
   * expired while the node was down expires now — the HSS hears SAR TIMEOUT_DEREGISTRATION (TS 24.229
   * §5.4.1.6) as if the node had never stopped.
   */
  restore(): number {
    const regs = this.o.store.list().filter((r) => r.contacts.length > 0);
    const now = this.o.clock.now();
    const expired = regs.filter((r) => r.contacts.some((c) => c.expiresAt <= now)).length;
    for (const r of regs) this.schedule(r);
    if (regs.length > 0) {
      this.note('info', `${regs.length} registration(s) restored from the store, ${expired} with contacts that expired meanwhile`, 'TS 24.229 §5.4.1.6');
    }
    return regs.length;
  }

  stop(): void {
    this.stopped = true;
    this.expiries.clear();
    this.challenges.clear();
  }

  async register(request: SipRequest, received: ReceivedMessage): Promise<SipResponse> {
    const toTag = this.o.random.token(10);
    const refuse = (status: number, reason: string, clause: string, level: 'info' | 'warn' = 'info') =>
      refusal(request, status, reason, { node: this.o.node, trace: this.o.trace, warnAgent: this.o.warnAgent, toTag, clause, level });

    // RFC 3261 §10.3 steps 1-2 and §8.2.2.3: what the request is about, and whether we understand it.
    let impu: string;
    let creds: Credentials | undefined;
    let contacts: ContactValue[] | '*';
    let headerExpires: number | undefined;
    try {
      impu = parseNameAddr(request.headers.get('To') ?? '').uri;
      parseUri(impu);
      const auth = request.headers.get('Authorization');
      creds = auth ? parseCredentials(auth) : undefined;
      contacts = parseContacts(request.headers);
      headerExpires = expiresOf(request.headers);
    } catch (e) {
      return refuse(400, `unreadable REGISTER: ${(e as Error).message}`, 'RFC 3261 §10.3');
    }
    const unsupported = parseOptionTags(request.headers, 'Require').filter((t) => !SUPPORTED.has(t.toLowerCase()));
    if (unsupported.length) {
      const r = refuse(420, `unsupported extension ${unsupported.join(', ')}`, 'RFC 3261 §8.2.2.3');
      r.headers.append('Unsupported', unsupported.join(', '));
      return r;
    }
    const impi = creds?.username || derivedImpi(impu);
    const existing = this.o.store.byImpi(impi);
    const registeredHere = !!existing && existing.contacts.length > 0 && existing.impus.some(sameIdentityAs(impu));

    // Step 3: authentication (TS 24.229 §5.4.1.2.1).
    const integrity = creds?.params.get('integrity-protected')?.toLowerCase();
    if (registeredHere && integrity !== undefined && PROTECTED.has(integrity)) {
      this.note('info', `${impu}: integrity-protected="${integrity}" from the P-CSCF and registered here: no new challenge`, 'TS 24.229 §5.4.1.2.1');
    } else {
      const pending = creds ? this.challenges.take(impi, creds.nonce) : undefined;
      if (!pending || !creds) return this.challenge(request, impi, impu, creds, toTag, refuse);
      if (creds.auts !== undefined && pending.aka) return this.resync(request, impi, impu, creds, pending.aka.rand, toTag, refuse);
      const verdict = verifyAnswer(pending, creds, request);
      if (!verdict.ok) {
        // Contract: one challenge, then 403 — never a loop of 401s. The challenge is spent either way.
        this.o.trace.note({
          node: this.o.node,
          level: 'warn',
          text: `${impi} failed authentication: ${verdict.why}; \`imslab aka doctor\` replays the UE's computation to name the mistake`,
          clause: 'TS 24.229 §5.4.1.2.1, RFC 3310 §3',
          data: { impi, impu, algorithm: pending.algorithm },
        });
        return refuse(403, `authentication failed: ${verdict.why}`, 'TS 24.229 §5.4.1.2.1', 'warn');
      }
      this.note('info', `${impi} answered the ${pending.algorithm} challenge correctly`, 'TS 33.203 §6.1.1');
    }

    // Steps 6-7: the new binding set. Its times in whole ms: nothing in §10.3 is finer than a second, and the
    // store holds whole-ms times as small integers, not as 16-byte boxed doubles (issue 7).
    const now = Math.floor(this.o.clock.now());
    const callId = request.headers.get('Call-ID') ?? '';
    const cseq = Number.parseInt(request.headers.get('CSeq') ?? '0', 10);
    const before = existing?.contacts ?? [];
    const changes: ContactChange[] = [];
    let next: ContactBinding[];
    if (contacts === '*') {
      if (headerExpires !== 0) return refuse(400, 'Contact "*" needs Expires: 0', 'RFC 3261 §10.3 step 6');
      next = [];
      for (const b of before) changes.push({ binding: b, state: 'terminated', event: 'unregistered' });
    } else {
      // The store hands out copies and no binding is changed in place (a new one replaces it): a list copy will do.
      next = before.slice();
      for (const c of contacts) {
        const requested = c.expires ?? headerExpires ?? this.o.defaultExpires;
        if (requested > 0 && requested < this.o.minExpires) {
          const r = refuse(423, `expiry ${requested} s is below the minimum ${this.o.minExpires} s`, 'RFC 3261 §10.3 step 7');
          r.headers.append('Min-Expires', String(this.o.minExpires));
          return r;
        }
        const i = next.findIndex((b) => sameBinding(b, c));
        const old = i >= 0 ? next[i] : undefined;
        if (old && old.callId === callId && cseq <= old.cseq) {
          return refuse(500, `CSeq ${cseq} is not above ${old.cseq} for this Call-ID: out of order`, 'RFC 3261 §10.3 step 7');
        }
        if (requested === 0) {
          if (old) {
            next.splice(i, 1);
            changes.push({ binding: old, state: 'terminated', event: 'unregistered' });
          }
          continue;
        }
        const seconds = Math.min(requested, this.o.maxExpires);
        if (seconds < requested) this.note('info', `${c.uri}: expiry ${requested} s shortened to ${seconds} s`, 'TS 24.229 §5.4.1.2.2');
        const binding: ContactBinding = {
          uri: c.uri,
          params: paramsBesideExpires(c.params),
          ...(c.displayName !== undefined ? { displayName: c.displayName } : {}),
          ...(c.instance !== undefined ? { instance: c.instance } : {}),
          ...(c.regId !== undefined ? { regId: c.regId } : {}),
          ...(c.q !== undefined ? { q: c.q } : {}),
          expiresAt: now + seconds * 1000,
          registeredAt: old?.registeredAt ?? now,
          callId,
          cseq,
          path: request.headers.list('Path'),
          receivedFrom: { ...received.source },
          id: old?.id ?? this.o.random.token(8),
        };
        const event: ContactEvent = !old ? 'registered' : binding.expiresAt < old.expiresAt ? 'shortened' : 'refreshed';
        if (old) next[i] = binding;
        else next.push(binding);
        changes.push({ binding, state: 'active', event });
      }
    }

    // A query (no Contact) changes nothing (§10.3 step 8).
    if (contacts !== '*' && contacts.length === 0) {
      return this.ok(request, toTag, existing, existing?.contacts ?? []);
    }

    if (next.length === 0) {
      // User-initiated de-registration (TS 24.229 §5.4.1.4): the HSS hears of it when the last contact goes.
      if (existing && existing.contacts.length > 0) {
        const saa = await this.sar(impi, existing.impus[0] ?? impu, SAT.USER_DEREGISTRATION, UserDataAlreadyAvailable.USER_DATA_ALREADY_AVAILABLE);
        if (!saa.ok) this.note('warn', `SAR USER_DEREGISTRATION for ${impi} failed (${saa.why}); removed here anyway`, 'TS 29.228 §6.1.2');
        this.o.store.remove(impi);
        if (!(await this.durable())) return refuse(500, `the removal of ${impi} could not be stored`, 'TS 24.229 §5.4.1.4', 'warn');
        this.note('info', `${impi} de-registered by the UE (${changes.length} contact(s) removed)`, 'TS 24.229 §5.4.1.4');
        this.o.onChange?.({ impi, before: existing, after: undefined, contacts: changes, ended: 'noresource' });
      }
      return this.ok(request, toTag, undefined, []);
    }

    // Registration or re-registration: tell the HSS and fetch the profile (TS 24.229 §5.4.1.2.2, TS 29.228 §6.1.2).
    const initial = !existing || existing.contacts.length === 0;
    const saa = await this.sar(
      impi,
      impu,
      initial ? SAT.REGISTRATION : SAT.RE_REGISTRATION,
      existing ? UserDataAlreadyAvailable.USER_DATA_ALREADY_AVAILABLE : UserDataAlreadyAvailable.USER_DATA_NOT_AVAILABLE,
    );
    if (!saa.ok) return refuse(saa.status, saa.why, saa.clause, 'warn');
    let profile: UserProfile;
    try {
      profile = saa.answer.userData ? parseUserProfile(saa.answer.userData) : existing!.profile;
    } catch (e) {
      return refuse(500, `the HSS sent a user profile this S-CSCF cannot read: ${(e as Error).message}`, 'TS 29.228 Annex E', 'warn');
    }
    if (!profile) return refuse(500, 'the SAA carried no User-Data and none is held', 'TS 29.228 §6.1.2');
    const isImpu = sameIdentityAs(impu);
    if (!profile.identities.some((p) => isImpu(p.uri))) {
      return refuse(403, `${impu} is not in the user profile of ${impi}`, 'TS 24.229 §5.4.1.2.2');
    }
    if (profile.identities.every((p) => p.barred)) {
      if (initial) await this.sar(impi, impu, SAT.USER_DEREGISTRATION, UserDataAlreadyAvailable.USER_DATA_ALREADY_AVAILABLE);
      return refuse(403, `every public identity of ${impi} is barred`, 'TS 29.228 Annex B.2.1');
    }
    const ids = reginfoIds(existing?.ids, profile.identities, this.o.random);
    const after: SubscriptionRegistration = {
      impi,
      impus: profile.identities.map((p) => p.uri),
      barred: profile.identities.filter((p) => p.barred).map((p) => p.uri),
      profile,
      contacts: next,
      ids,
    };
    this.o.store.put(after);
    // Issue 8: the 200 (and the reg-event NOTIFYs onChange sends) must not confirm a binding a crash forgets.
    if (!(await this.durable())) return refuse(500, `the registration of ${impi} could not be stored`, 'TS 24.229 §5.4.1.2.2', 'warn');
    this.schedule(after);
    this.note(
      'info',
      `${impi} ${initial ? 'registered' : 're-registered'}: ${next.length} contact(s), implicit set ${after.impus.join(', ')}`,
      'TS 24.229 §5.4.1.2.2',
    );
    this.o.onChange?.({ impi, before: existing, after, contacts: changes });
    return this.ok(request, toTag, after, next);
  }

  /**
   * Network-initiated de-registration (RTR, TS 24.229 §5.4.1.5): the identities' registration goes; the reg
   * event subscribers hear `deactivated` (the UE is expected to register again) or `rejected`.
   */
  deregisterByNetwork(impi: string, event: 'deactivated' | 'rejected'): boolean {
    const existing = this.o.store.byImpi(impi);
    if (!existing) return false;
    this.o.store.remove(impi);
    this.note('info', `${impi}: network-initiated de-registration, contacts ${event}`, 'TS 24.229 §5.4.1.5');
    this.o.onChange?.({
      impi,
      before: existing,
      after: undefined,
      contacts: existing.contacts.map((binding) => ({ binding, state: 'terminated', event })),
      ended: event,
    });
    return true;
  }

  /** A new profile from a PPR (TS 29.228 §6.2.2): replaces the held one; subscribers hear of a changed set. */
  updateProfile(impi: string, profile: UserProfile): 'unknown' | 'same-set' | 'new-set' {
    const existing = this.o.store.byImpi(impi);
    if (!existing) return 'unknown';
    const impus = profile.identities.map((p) => p.uri);
    const ids = reginfoIds(existing.ids, profile.identities, this.o.random);
    const after: SubscriptionRegistration = { ...existing, impus, barred: profile.identities.filter((p) => p.barred).map((p) => p.uri), profile, ids };
    this.o.store.put(after);
    const changed = impus.join('\n') !== existing.impus.join('\n') || after.barred.join('\n') !== existing.barred.join('\n');
    if (changed) {
      this.o.onChange?.({ impi, before: existing, after, contacts: after.contacts.map((binding) => ({ binding, state: 'active', event: 'created' })) });
    }
    return changed ? 'new-set' : 'same-set';
  }

  // ---- authentication ----

  /** MAR, then 401 with the challenge (TS 24.229 §5.4.1.2.1). */
  private async challenge(
    request: SipRequest,
    impi: string,
    impu: string,
    creds: Credentials | undefined,
    toTag: string,
    refuse: (status: number, reason: string, clause: string, level?: 'info' | 'warn') => SipResponse,
  ): Promise<SipResponse> {
    const scheme = marScheme(creds?.algorithm);
    return this.marAnd401(request, impi, impu, { authenticationScheme: scheme }, toTag, refuse, `MAR (${scheme})`);
  }

  /** RFC 3310 §3.4 / TS 33.203 §6.1.2: auts in the answer → MAR with RAND‖AUTS, fresh vectors, a new 401. */
  private async resync(
    request: SipRequest,
    impi: string,
    impu: string,
    creds: Credentials,
    rand: Buffer,
    toTag: string,
    refuse: (status: number, reason: string, clause: string, level?: 'info' | 'warn') => SipResponse,
  ): Promise<SipResponse> {
    let auts: Buffer;
    try {
      auts = decodeAuts(creds.auts!);
      // The nonce echoed must be the challenge's own (RFC 3310 §3.4): its RAND is the one AUTS was made for.
      if (creds.nonce && !decodeAkaNonce(creds.nonce).rand.equals(rand)) throw new DigestInputError('nonce', 'does not carry the challenged RAND');
    } catch (e) {
      return refuse(403, `unusable auts: ${(e as Error).message}`, 'RFC 3310 §3.4', 'warn');
    }
    this.note('info', `${impi} reports a synchronisation failure (auts): asking the HSS to resynchronise`, 'TS 33.203 §6.1.2, RFC 3310 §3.4');
    const scheme = marScheme(creds.algorithm);
    return this.marAnd401(request, impi, impu, { authenticationScheme: scheme, authorization: Buffer.concat([rand, auts]) }, toTag, refuse, 'MAR resync');
  }

  private async marAnd401(
    request: SipRequest,
    impi: string,
    impu: string,
    item: SipAuthDataItem,
    toTag: string,
    refuse: (status: number, reason: string, clause: string, level?: 'info' | 'warn') => SipResponse,
    what: string,
  ): Promise<SipResponse> {
    let maa: MultimediaAuthAnswer;
    try {
      const cx = await this.o.hss.cx();
      maa = await cx.mar({ userName: impi, publicIdentity: impu, serverName: this.o.serverName, sipNumberAuthItems: 1, sipAuthDataItem: item });
    } catch (e) {
      return refuse(504, `${what}: HSS ${e instanceof HssUnavailableError ? 'not reachable' : 'did not answer'}: ${(e as Error).message}`, 'TS 24.229 §5.4.1.2.1', 'warn');
    }
    const x = maa.experimentalResultCode;
    if (x === X.DIAMETER_ERROR_USER_UNKNOWN || x === X.DIAMETER_ERROR_IDENTITIES_DONT_MATCH) {
      return refuse(403, `${what}: ${x === X.DIAMETER_ERROR_USER_UNKNOWN ? 'unknown user' : `${impu} does not belong to ${impi}`}`, 'TS 24.229 §5.4.1.2.1');
    }
    if (x === X.DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED) return refuse(403, `${what}: ${impi} may not use ${item.authenticationScheme}`, 'TS 29.228 §6.3.1');
    if (maa.resultCode === ResultCode.DIAMETER_AUTHORIZATION_REJECTED) {
      return refuse(403, `${what}: the HSS refused (the AUTS does not verify: the UE's K/OP differ)`, 'TS 33.102 §6.3.5', 'warn');
    }
    const first = maa.sipAuthDataItems[0];
    if (maa.resultCode !== ResultCode.DIAMETER_SUCCESS || !first) {
      return refuse(500, `${what}: HSS answered ${maa.resultCode ?? `Experimental ${x}`} without a vector`, 'TS 29.228 §6.3.1', 'warn');
    }
    let made;
    try {
      made = makeChallenge(first, { impi, impu, realm: this.o.realm, random: this.o.random, now: this.o.clock.now(), lifetimeMs: this.challenges.lifetimeMs });
    } catch (e) {
      if (e instanceof ChallengeError) return refuse(500, e.message, 'TS 29.229 §6.3.13', 'warn');
      throw e;
    }
    this.challenges.add(made.challenge);
    const r = createResponse(request, 401, undefined, toTag);
    r.headers.append('WWW-Authenticate', made.header);
    this.note('info', `${what} for ${impi}: challenging with ${made.challenge.algorithm}`, 'TS 24.229 §5.4.1.2.1');
    return r;
  }

  // ---- HSS ----

  private async sar(
    impi: string,
    impu: string,
    type: number,
    userData: number,
  ): Promise<{ ok: true; answer: ServerAssignmentAnswer } | { ok: false; status: number; why: string; clause: string }> {
    let saa: ServerAssignmentAnswer;
    try {
      const cx = await this.o.hss.cx();
      saa = await cx.sar({ userName: impi, publicIdentities: [impu], serverName: this.o.serverName, serverAssignmentType: type, userDataAlreadyAvailable: userData });
    } catch (e) {
      return { ok: false, status: 504, why: `SAR: HSS ${e instanceof HssUnavailableError ? 'not reachable' : 'did not answer'}: ${(e as Error).message}`, clause: 'TS 24.229 §5.4.1.2.2' };
    }
    if (saa.resultCode === ResultCode.DIAMETER_SUCCESS || saa.experimentalResultCode === X.DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED) return { ok: true, answer: saa };
    if (saa.experimentalResultCode === X.DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED) {
      return { ok: false, status: 403, why: `SAR: ${impu} is registered at another S-CSCF (${saa.serverName ?? '?'})`, clause: 'TS 29.228 §8.1' };
    }
    if (saa.experimentalResultCode === X.DIAMETER_ERROR_USER_UNKNOWN || saa.experimentalResultCode === X.DIAMETER_ERROR_IDENTITIES_DONT_MATCH) {
      return { ok: false, status: 403, why: `SAR: the HSS does not know ${impu} for ${impi}`, clause: 'TS 29.228 §6.1.2.1' };
    }
    return { ok: false, status: 500, why: `SAR: HSS answered ${saa.resultCode ?? `Experimental ${saa.experimentalResultCode}`}`, clause: 'TS 29.228 §6.1.2.1' };
  }

  // ---- expiry ----

  /**
   * A deadline at the subscription's earliest contact expiry. Earlier deadlines of the same IMPI may still be
   * queued (a refresh moves the expiry later): expire() finds nothing due for them and does nothing.
   */
  private schedule(reg: SubscriptionRegistration): void {
    if (reg.contacts.length === 0 || this.stopped) return;
    let earliest = Infinity;
    for (const c of reg.contacts) if (c.expiresAt < earliest) earliest = c.expiresAt;
    // The key is the store's own copy of the IMPI (util/own-string.ts), not a value cut from the request: a
    // deadline lives as long as the binding, and a slice would keep the whole REGISTER text alive with it.
    this.expiries.schedule(this.o.store.heldImpi?.(reg.impi) ?? ownString(reg.impi), earliest);
  }

  /** RFC 3261 §10.3: expired bindings go; the last one going is a timeout de-registration (TS 24.229 §5.4.1.6). */
  private async expire(impi: string): Promise<void> {
    const reg = this.o.store.byImpi(impi);
    if (!reg || this.stopped) return;
    const now = this.o.clock.now();
    const gone = reg.contacts.filter((c) => c.expiresAt <= now);
    if (gone.length === 0) return;
    const kept = reg.contacts.filter((c) => c.expiresAt > now);
    const changes: ContactChange[] = gone.map((binding) => ({ binding, state: 'terminated', event: 'expired' }));
    if (kept.length > 0) {
      const after = { ...reg, contacts: kept };
      this.o.store.put(after);
      this.schedule(after);
      this.note('info', `${impi}: ${gone.length} contact(s) expired, ${kept.length} left`, 'RFC 3261 §10.3');
      this.o.onChange?.({ impi, before: reg, after, contacts: changes });
      return;
    }
    this.o.store.remove(impi);
    this.note('info', `${impi}: registration expired; telling the HSS (SAR TIMEOUT_DEREGISTRATION)`, 'TS 24.229 §5.4.1.6');
    this.o.onChange?.({ impi, before: reg, after: undefined, contacts: changes, ended: 'noresource' });
    const saa = await this.sar(impi, reg.impus[0]!, SAT.TIMEOUT_DEREGISTRATION, UserDataAlreadyAvailable.USER_DATA_ALREADY_AVAILABLE);
    if (!saa.ok) this.note('warn', `SAR TIMEOUT_DEREGISTRATION for ${impi} failed: ${saa.why}`, 'TS 29.228 §6.1.2');
  }

  // ---- 200 OK ----

  /**
   * TS 24.229 §5.4.1.2.2 / RFC 3261 §10.3 step 8: 200 with every current binding and its remaining expiry,
   * Path echoed (RFC 3327 §5.3), Service-Route (RFC 3608 §6), P-Associated-URI with the implicit set
   * without barred identities, default first (RFC 3455 §4.1), Supported: path, Date.
   */
  /** Waits for the store's group commit; false (noted) when the writes were lost. */
  private async durable(): Promise<boolean> {
    try {
      await this.o.store.flush?.();
      return true;
    } catch (e) {
      this.note('warn', `the registration store failed to commit: ${(e as Error)?.message ?? String(e)}`, 'RFC 3261 §21.5.1');
      return false;
    }
  }

  private ok(request: SipRequest, toTag: string, reg: SubscriptionRegistration | undefined, bindings: ContactBinding[]): SipResponse {
    const r = createResponse(request, 200, undefined, toTag);
    const now = this.o.clock.now();
    for (const p of request.headers.getAll('Path')) r.headers.append('Path', p);
    if (reg && bindings.length > 0) {
      r.headers.append('Service-Route', `<${this.o.serviceRoute}>`);
      const barred = reg.barred.length === 0 ? undefined : new Set(reg.barred.map(impuKey));
      const associated = barred === undefined ? reg.impus : reg.impus.filter((u) => !barred.has(impuKey(u)));
      if (associated.length) r.headers.append('P-Associated-URI', associated.map((u) => `<${u}>`).join(', '));
    }
    for (const b of bindings) {
      const params = new Map<string, string | null>(b.params);
      params.set('expires', String(Math.max(0, Math.round((b.expiresAt - now) / 1000))));
      r.headers.append('Contact', `${b.displayName ? `"${b.displayName.replace(/["\\]/g, '')}" ` : ''}<${b.uri}>${formatParams(params)}`);
    }
    r.headers.append('Supported', 'path');
    r.headers.append('Date', this.httpDate(now));
    return r;
  }

  /** RFC 3261 §20.17 Date (rfc1123-date, whole seconds): formatted once per second, not once per 200. */
  private httpDate(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.dateSecond) {
      this.dateSecond = second;
      this.dateText = new Date(second * 1000).toUTCString();
    }
    return this.dateText;
  }

  private note(level: 'info' | 'warn', text: string, clause: string): void {
    this.o.trace.note({ node: this.o.node, level, text, clause });
  }
}

/** RFC 5626 §6: instance and reg-id identify a flow when present; otherwise the URI (RFC 3261 §10.3 step 7, §19.1.4). */
function sameBinding(b: ContactBinding, c: ContactValue): boolean {
  if (c.instance !== undefined || b.instance !== undefined) return c.instance === b.instance && c.regId === b.regId;
  try {
    return uriEquals(parseUri(b.uri), parseUri(c.uri));
  } catch {
    return b.uri === c.uri;
  }
}

/** A test for "the same public identity as `impu`" (TS 23.003 §13.4 normalisation, see impuKey), its key made once. */
function sameIdentityAs(impu: string): (uri: string) => boolean {
  const key = impuKey(impu);
  return (uri) => impuKey(uri) === key;
}

/** The Contact parameters a binding keeps: all but expires, which the registrar grants anew (RFC 3261 §10.3 step 7). */
function paramsBesideExpires(params: ReadonlyMap<string, string | null>): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = [];
  for (const [k, v] of params) if (k !== 'expires') out.push([k, v]);
  return out;
}

/**
 * The reginfo id of each public identity (RFC 3680 §5.3: stable while the registration lasts): the ids held
 * before, and a fresh one for each identity new to the set. The record is made as a dictionary (no prototype)
 * from the start: an object literal given one IMPU key after another takes a new hidden class per IMPU, and
 * with thousands of subscribers the engine's transition trees grow with every registration.
 */
function reginfoIds(held: Readonly<Record<string, string>> | undefined, identities: ReadonlyArray<{ uri: string }>, random: Random): Record<string, string> {
  const ids = Object.create(null) as Record<string, string>;
  if (held !== undefined) for (const u of Object.keys(held)) ids[u] = held[u]!;
  for (const p of identities) if (ids[p.uri] === undefined) ids[p.uri] = random.token(8);
  return ids;
}

/** TS 24.229 §5.4.1.2.1: without Authorization the private identity is derived from the public one (TS 33.203). */
function derivedImpi(impu: string): string {
  const colon = impu.indexOf(':');
  const rest = colon >= 0 ? impu.slice(colon + 1) : impu;
  const semi = rest.search(/[;?]/);
  return semi >= 0 ? rest.slice(0, semi) : rest;
}
