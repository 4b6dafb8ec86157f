import { digestResponsesEqual, ha1, responseFromHa1 } from '../sip/auth/digest.js';
import { formatChallenge } from '../sip/auth/credentials.js';
import { parseCredentials, type Credentials } from '../sip/headers/auth.js';
import type { SipRequest } from '../sip/message.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { DigestUser, UserDirectory } from './users.js';

/** Which pair of headers a challenge travels in: a registrar/UAS 401 (§22.2) or a proxy 407 (§22.3). */
export type AuthRole = 'www' | 'proxy';

export type AuthOutcome =
  /** The credentials are right: the request comes from `user`. */
  | { kind: 'authenticated'; user: DigestUser }
  /** No credentials for our realm, or a nonce we did not issue, have expired or have seen used: challenge (again). */
  | { kind: 'challenge'; stale: boolean }
  /** Credentials that answer our nonce but are wrong (password, user, uri): §22.2/§22.3 say 403, not another round. */
  | { kind: 'forbidden'; reason: string };

export interface DigestAuthenticatorOptions {
  realm: string;
  users: UserDirectory;
  clock: Clock;
  random: Random;
  /** How long a nonce may be answered; 30 s by default (RFC 2617 §4.3 leaves it to the server). */
  nonceLifetimeMs?: number;
  /** Nonces kept at most; the oldest go first under a challenge flood (bounded memory). */
  maxNonces?: number;
}

interface NonceState {
  expiresAt: number;
  /** The highest nonce-count seen with this nonce (RFC 2617 §3.2.2: a repeated nc is a replay). */
  lastNc: number;
}

/**
 * SIP digest on the server side (RFC 3261 §22, RFC 2617 §3.2 with qop=auth, MD5). Nonces are this node's own
 * random tokens, remembered until answered; each is good for ONE successful request (RFC 2617 §4.5 one-time
 * nonces, against replay), and its nonce-count must rise (§3.2.2) while it lives. A nonce that is unknown,
 * expired or used gets a fresh challenge with stale=TRUE (§3.2.1), so a client with the right password
 * retries without asking its user.
 */
export class DigestAuthenticator {
  private readonly nonces = new Map<string, NonceState>();
  private readonly lifetime: number;
  private readonly maxNonces: number;

  constructor(private readonly options: DigestAuthenticatorOptions) {
    this.lifetime = options.nonceLifetimeMs ?? 30_000;
    this.maxNonces = options.maxNonces ?? 200_000;
  }

  get realm(): string {
    return this.options.realm;
  }

  /** Nonces issued and not yet used or expired (for tests and load figures). */
  get outstanding(): number {
    return this.nonces.size;
  }

  /** A new challenge value for WWW-Authenticate / Proxy-Authenticate (§22.1, RFC 2617 §3.2.1). */
  challenge(stale = false): string {
    const now = this.options.clock.now();
    this.evict(now);
    const nonce = this.options.random.token(32);
    this.nonces.set(nonce, { expiresAt: now + this.lifetime, lastNc: 0 });
    const params: Array<[string, string]> = [
      ['realm', this.options.realm],
      ['nonce', nonce],
      ['qop', 'auth'],
      ['algorithm', 'MD5'],
    ];
    if (stale) params.push(['stale', 'TRUE']);
    return formatChallenge(params);
  }

  /**
   * Checks the request's credentials for our realm in Authorization (role www) or Proxy-Authorization (role
   * proxy). Credentials for other realms are left alone (§22.3: they are for proxies further on).
   */
  verify(request: SipRequest, role: AuthRole): AuthOutcome {
    const header = role === 'www' ? 'Authorization' : 'Proxy-Authorization';
    let creds: Credentials | undefined;
    for (const value of request.headers.getAll(header)) {
      let c: Credentials;
      try {
        c = parseCredentials(value);
      } catch {
        return { kind: 'forbidden', reason: `unreadable ${header}` };
      }
      if (c.scheme.toLowerCase() === 'digest' && c.realm === this.options.realm) {
        creds = c;
        break;
      }
    }
    if (!creds) return { kind: 'challenge', stale: false };

    const now = this.options.clock.now();
    const state = creds.nonce === undefined ? undefined : this.nonces.get(creds.nonce);
    if (!state || state.expiresAt <= now) {
      if (state) this.nonces.delete(creds.nonce!);
      return { kind: 'challenge', stale: true };
    }
    if ((creds.algorithm ?? 'MD5').toUpperCase() !== 'MD5') return { kind: 'forbidden', reason: `algorithm ${creds.algorithm} was not offered` };
    // We offered qop="auth" only (RFC 2617 §3.2.2: the client MUST then answer with one of the offered qops).
    if (creds.qop?.toLowerCase() !== 'auth' || creds.nc === undefined || creds.cnonce === undefined)
      return { kind: 'forbidden', reason: 'qop=auth with nc and cnonce is required' };
    const nc = parseInt(creds.nc, 16);
    if (!(nc > state.lastNc)) return { kind: 'challenge', stale: true };
    state.lastNc = nc;
    // One successful (or failed) answer uses the nonce up: a second request must be challenged again.
    this.nonces.delete(creds.nonce!);

    const user = creds.username === undefined ? undefined : this.options.users.byName(creds.username);
    if (!user) return { kind: 'forbidden', reason: `unknown user "${creds.username ?? ''}"` };
    // RFC 2617 §3.2.2.5 lets a server check that digest-uri names the Request-URI; it is not checked here, as
    // Kamailio's auth module does not either: SIPp writes the next hop's address there (sip:127.0.61.1:15060),
    // not the REGISTER's Request-URI. The response still binds the uri the client wrote, and the nonce is one-time.
    if (creds.uri === undefined || creds.response === undefined) return { kind: 'forbidden', reason: 'no uri or response' };
    const a1 = ha1({ username: creds.username!, realm: this.options.realm, password: user.password });
    const expected = responseFromHa1(a1, { method: request.method, uri: creds.uri, nonce: creds.nonce!, nc: creds.nc, cnonce: creds.cnonce, qop: 'auth' });
    if (!digestResponsesEqual(expected, creds.response)) return { kind: 'forbidden', reason: 'wrong digest response' };
    return { kind: 'authenticated', user };
  }

  clear(): void {
    this.nonces.clear();
  }

  /** Drops expired nonces from the oldest end (the Map keeps issue order), and the oldest beyond the bound. */
  private evict(now: number): void {
    for (const [nonce, s] of this.nonces) {
      if (s.expiresAt > now && this.nonces.size < this.maxNonces) break;
      this.nonces.delete(nonce);
    }
  }
}
