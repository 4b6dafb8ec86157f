import { parseContacts, type ContactValue } from '../sip/headers/contact.js';
import { parseCSeq } from '../sip/headers/cseq.js';
import { parseNameAddr } from '../sip/headers/name-addr.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { createResponse } from '../sip/transaction/response.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { DigestAuthenticator } from './digest-authenticator.js';
import type { Binding, LocationService } from './location-service.js';
import { addressOfRecord, type UserDirectory } from './users.js';

export interface RegistrarOptions {
  location: LocationService;
  users: UserDirectory;
  /** Absent: registrations are not authenticated (an open lab registrar). */
  authenticator?: DigestAuthenticator | undefined;
  clock: Clock;
  random: Random;
  /** §10.2.1.1: what a REGISTER without any expiry gets; 3600 s per §10.2.1.1's suggestion. */
  defaultExpires?: number;
  /** §10.3 step 7: shorter requests get 423 with Min-Expires. */
  minExpires?: number;
  /** The registrar may shorten any interval to this (§10.3 step 7). */
  maxExpires?: number;
}

/** What one REGISTER does to one binding, decided before anything is committed (§10.3 step 7, atomically). */
interface Change {
  uri: string;
  expires: number;
  q?: number;
}

/**
 * The registrar of RFC 3261 §10.3: the steps in the order of the clause (the Request-URI's domain, step 1, is
 * checked by the caller that routes the REGISTER here). Every answer is a response to send; a REGISTER that
 * fails changes no binding.
 */
export class Registrar {
  private readonly defaultExpires: number;
  private readonly minExpires: number;
  private readonly maxExpires: number;

  constructor(private readonly options: RegistrarOptions) {
    this.defaultExpires = options.defaultExpires ?? 3600;
    this.minExpires = options.minExpires ?? 60;
    this.maxExpires = options.maxExpires ?? 86_400;
  }

  handle(request: SipRequest): SipResponse {
    // Step 2: §8.2.2.3, no extension is required of a plain registrar.
    const required = request.headers.list('Require');
    if (required.length > 0) return this.reply(request, 420, [['Unsupported', required.join(', ')]]);

    // Step 3: authenticate (§22.2: a registrar challenges with 401 / WWW-Authenticate).
    const auth = this.options.authenticator;
    let authenticatedAs: ReadonlySet<string> | undefined;
    if (auth) {
      const outcome = auth.verify(request, 'www');
      if (outcome.kind === 'challenge') return this.reply(request, 401, [['WWW-Authenticate', auth.challenge(outcome.stale)]]);
      if (outcome.kind === 'forbidden') return this.reply(request, 403, [], `Forbidden (${outcome.reason})`);
      authenticatedAs = outcome.user.aors;
    }

    // Step 5 (before 4, whose answer depends on it): the AOR from To, in canonical form.
    let aor: string | undefined;
    try {
      aor = addressOfRecord(parseNameAddr(request.headers.get('To') ?? '').uri);
    } catch {
      aor = undefined;
    }
    if (aor === undefined) return this.reply(request, 400, [], 'Bad To');
    if (!this.options.users.owner(aor) && auth) return this.reply(request, 404);
    // Step 4: the authenticated user must be allowed to register this AOR (third-party registration refused).
    if (authenticatedAs && !authenticatedAs.has(aor)) return this.reply(request, 403, [], 'Forbidden (not your address-of-record)');

    // Step 6: Contact.
    let contacts: ContactValue[] | '*';
    let cseq: number;
    try {
      contacts = parseContacts(request.headers);
      cseq = parseCSeq(request.headers.get('CSeq') ?? '').seq;
    } catch (e) {
      return this.reply(request, 400, [], `Bad Request (${(e as Error).message})`);
    }
    const callId = request.headers.get('Call-ID') ?? '';
    const headerExpires = parseExpires(request.headers.get('Expires'));
    const location = this.options.location;

    if (contacts === '*') {
      // §10.2.2 / step 6: "*" only with Expires: 0 and as the only Contact.
      if (headerExpires !== 0) return this.reply(request, 400, [], 'Bad Request (Contact * needs Expires: 0)');
      for (const b of location.lookup(aor)) if (b.callId === callId && cseq <= b.cseq) return this.reply(request, 500, [], 'Server Internal Error (CSeq out of order)');
      location.clear(aor);
      return this.ok(request, aor);
    }

    // Step 7: every change is checked first; the bindings change only if all of them pass.
    const changes: Change[] = [];
    for (const c of contacts) {
      let expires = c.expires ?? headerExpires ?? this.defaultExpires;
      if (expires > 0 && expires < this.minExpires) return this.reply(request, 423, [['Min-Expires', String(this.minExpires)]]);
      if (expires > this.maxExpires) expires = this.maxExpires;
      const existing = location.find(aor, c.uri);
      if (existing && existing.callId === callId && cseq <= existing.cseq) return this.reply(request, 500, [], 'Server Internal Error (CSeq out of order)');
      changes.push({ uri: c.uri, expires, ...(c.q !== undefined ? { q: c.q } : {}) });
    }
    const now = this.options.clock.now();
    for (const ch of changes) {
      const b: Binding = { uri: ch.uri, expiresAt: now + ch.expires * 1000, callId, cseq, ...(ch.q !== undefined ? { q: ch.q } : {}) };
      location.bind(aor, b);
    }
    return this.ok(request, aor);
  }

  /** Step 8: 200 with every current binding and the time left on each (§10.3 step 8, §20.10 expires). */
  private ok(request: SipRequest, aor: string): SipResponse {
    const r = this.reply(request, 200);
    const now = this.options.clock.now();
    for (const b of this.options.location.lookup(aor)) {
      const left = Math.max(0, Math.round((b.expiresAt - now) / 1000));
      r.headers.append('Contact', `<${b.uri}>;expires=${left}${b.q !== undefined ? `;q=${b.q}` : ''}`);
    }
    r.headers.append('Date', new Date(now).toUTCString());
    return r;
  }

  private reply(request: SipRequest, status: number, headers: Array<[string, string]> = [], reason?: string): SipResponse {
    const r = createResponse(request, status, reason, this.options.random.token(8));
    for (const [n, v] of headers) r.headers.append(n, v);
    return r;
  }
}

/** Expires = delta-seconds (§20.19); an unreadable value counts as absent (RFC 4475 §3.1.2.4: default applies). */
function parseExpires(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  return Math.min(Number(t), 0xffffffff);
}
