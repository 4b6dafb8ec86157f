import type { SipAuthDataItem } from '../../diameter/cx/common.js';
import { SipAuthenticationScheme } from '../../diameter/cx/constants.js';
import { formatChallenge } from '../../sip/auth/credentials.js';
import { akaPassword, digestResponsesEqual, DigestInputError, encodeAkaNonce, ha1, responseFromHa1, type Qop } from '../../sip/auth/digest.js';
import type { Credentials } from '../../sip/headers/auth.js';
import type { SipRequest } from '../../sip/message.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';

/**
 * The S-CSCF's half of IMS authentication (TS 33.203 §6.1, TS 24.229 §5.4.1.2): a challenge made from the
 * MAA's vector, kept until the UE answers it once (the "reg-await-auth" state), and the check of that answer.
 */
export interface PendingChallenge {
  impi: string;
  impu: string;
  /** The nonce exactly as sent: base64(RAND‖AUTN) for AKA (RFC 3310 §3.2), random hex for SIP Digest. */
  nonce: string;
  realm: string;
  /** The algorithm token of the challenge: AKAv1-MD5, AKAv2-MD5 or MD5. */
  algorithm: string;
  qop: Qop[];
  /** AKA: RAND, XRES, CK, IK from the SIP-Auth-Data-Item (TS 29.229 §6.3.10-6.3.12). */
  aka?: { rand: Buffer; xres: Buffer; ck: Buffer; ik: Buffer; version: 1 | 2 };
  /** SIP Digest: H(A1) from SIP-Digest-Authenticate (TS 29.229 §6.3.36); the password never reaches the S-CSCF. */
  ha1?: string;
  expiresAt: number;
}

/**
 * TS 24.229 Table 7.7.1: reg-await-auth, how long the S-CSCF waits for the answer to a challenge (4 min).
 * Challenges are kept twice that, so a UE slow on a lossy link is not sent round again for a timing detail.
 */
export const REG_AWAIT_AUTH_MS = 240_000;
const MAX_PER_IMPI = 4;
const MAX_TOTAL = 100_000;

/** Pending challenges per IMPI, each usable once. Expired ones are dropped on the way; the book is bounded. */
export class ChallengeBook {
  private readonly byImpi = new Map<string, PendingChallenge[]>();
  private total = 0;

  constructor(
    private readonly clock: Clock,
    readonly lifetimeMs: number = 2 * REG_AWAIT_AUTH_MS,
  ) {}

  add(c: PendingChallenge): void {
    const now = this.clock.now();
    if (this.total >= MAX_TOTAL) this.sweep(now);
    if (this.total >= MAX_TOTAL) return; // under a flood the oldest user waits for the next challenge
    const list = (this.byImpi.get(c.impi) ?? []).filter((x) => x.expiresAt > now);
    list.push(c);
    while (list.length > MAX_PER_IMPI) list.shift();
    this.total += list.length - (this.byImpi.get(c.impi)?.length ?? 0);
    this.byImpi.set(c.impi, list);
  }

  /** The challenge this nonce answers, removed (single use); undefined when unknown or expired. */
  take(impi: string, nonce: string | undefined): PendingChallenge | undefined {
    if (!nonce) return undefined;
    const list = this.byImpi.get(impi);
    if (!list) return undefined;
    const i = list.findIndex((x) => x.nonce === nonce);
    if (i < 0) return undefined;
    const [c] = list.splice(i, 1);
    this.total--;
    if (list.length === 0) this.byImpi.delete(impi);
    return c!.expiresAt > this.clock.now() ? c : undefined;
  }

  get size(): number {
    return this.total;
  }

  clear(): void {
    this.byImpi.clear();
    this.total = 0;
  }

  private sweep(now: number): void {
    for (const [impi, list] of this.byImpi) {
      const keep = list.filter((x) => x.expiresAt > now);
      this.total -= list.length - keep.length;
      if (keep.length) this.byImpi.set(impi, keep);
      else this.byImpi.delete(impi);
    }
  }
}

/** SIP-Authentication-Scheme for a MAR from the algorithm the UE offered (TS 29.229 §6.3.9); none → let the HSS choose. */
export function marScheme(algorithm: string | undefined): string {
  const a = algorithm?.trim().toUpperCase();
  if (a === 'AKAV1-MD5') return SipAuthenticationScheme.AKAv1_MD5;
  if (a === 'AKAV2-MD5') return SipAuthenticationScheme.AKAv2_MD5;
  if (a === 'MD5') return SipAuthenticationScheme.SIP_DIGEST;
  return SipAuthenticationScheme.UNKNOWN;
}

/**
 * A challenge from one SIP-Auth-Data-Item: for AKA (TS 24.229 §5.4.1.2.1, RFC 3310 §3.1) the nonce is
 * base64(RAND‖AUTN), qop "auth,auth-int", and ik/ck in hex for the P-CSCF (TS 33.203 §7.1), which removes
 * them; for SIP Digest (TS 24.229 §5.4.1.2.1B) a fresh random nonce, qop "auth", realm from the HSS.
 */
export function makeChallenge(
  item: SipAuthDataItem,
  ctx: { impi: string; impu: string; realm: string; random: Random; now: number; lifetimeMs: number },
): { challenge: PendingChallenge; header: string } {
  const scheme = (item.authenticationScheme ?? '').toLowerCase();
  const expiresAt = ctx.now + ctx.lifetimeMs;
  if (scheme === SipAuthenticationScheme.AKAv1_MD5.toLowerCase() || scheme === SipAuthenticationScheme.AKAv2_MD5.toLowerCase()) {
    const version: 1 | 2 = scheme.includes('akav2') ? 2 : 1;
    const { authenticate, authorization, confidentialityKey, integrityKey } = item;
    if (!authenticate || authenticate.length !== 32 || !authorization || !confidentialityKey || !integrityKey) {
      throw new ChallengeError('the MAA AKA item lacks RAND‖AUTN, XRES, CK or IK (TS 29.229 §6.3.13)');
    }
    const rand = authenticate.subarray(0, 16);
    const nonce = encodeAkaNonce({ rand, autn: authenticate.subarray(16, 32) });
    const algorithm = version === 1 ? 'AKAv1-MD5' : 'AKAv2-MD5';
    const header = formatChallenge([
      ['realm', ctx.realm],
      ['nonce', nonce],
      ['algorithm', algorithm],
      ['qop', 'auth,auth-int'],
      ['ik', integrityKey.toString('hex')],
      ['ck', confidentialityKey.toString('hex')],
    ]);
    return {
      challenge: {
        impi: ctx.impi, impu: ctx.impu, nonce, realm: ctx.realm, algorithm, qop: ['auth', 'auth-int'], expiresAt,
        aka: { rand: Buffer.from(rand), xres: Buffer.from(authorization), ck: Buffer.from(confidentialityKey), ik: Buffer.from(integrityKey), version },
      },
      header,
    };
  }
  const digest = item.digestAuthenticate;
  if (digest) {
    const nonce = ctx.random.bytes(16).toString('hex');
    const algorithm = digest.algorithm ?? 'MD5';
    if (algorithm.toUpperCase() !== 'MD5') throw new ChallengeError(`SIP Digest algorithm ${algorithm} from the HSS is not supported (MD5 only)`);
    const header = formatChallenge([
      ['realm', digest.realm],
      ['nonce', nonce],
      ['algorithm', 'MD5'],
      ['qop', 'auth'],
    ]);
    return { challenge: { impi: ctx.impi, impu: ctx.impu, nonce, realm: digest.realm, algorithm: 'MD5', qop: ['auth'], expiresAt, ha1: digest.ha1.toLowerCase() }, header };
  }
  throw new ChallengeError(`the MAA item has scheme "${item.authenticationScheme ?? 'none'}", which this S-CSCF cannot challenge with`);
}

export class ChallengeError extends Error {
  override readonly name = 'ChallengeError';
}

export type Verdict = { ok: true } | { ok: false; why: string };

/**
 * The answer to a challenge (RFC 2617 §3.2.2, RFC 3310 §3.3 password = RES raw, RFC 4169 §4 for AKAv2),
 * computed with XRES or H(A1) and compared in constant time.
 */
export function verifyAnswer(c: PendingChallenge, creds: Credentials, request: SipRequest): Verdict {
  if (creds.username !== c.impi) return { ok: false, why: `username "${creds.username}" is not the challenged ${c.impi}` };
  if (creds.realm !== c.realm) return { ok: false, why: `realm "${creds.realm}" is not the challenge's "${c.realm}"` };
  if (creds.uri === undefined) return { ok: false, why: 'the credentials have no uri' };
  if (!creds.response) {
    return c.aka
      ? { ok: false, why: 'empty response without auts: the UE rejected the network (AUTN MAC failure, RFC 3310 §3.4), so its K/OP differ from the HSS' }
      : { ok: false, why: 'empty response' };
  }
  const qop = creds.qop?.toLowerCase() as Qop | undefined;
  if (qop !== undefined && !c.qop.includes(qop)) return { ok: false, why: `qop "${creds.qop}" was not offered` };
  try {
    const h1 = c.aka
      ? ha1({ username: c.impi, realm: c.realm, password: akaPassword(c.aka.version, c.aka.xres, c.aka.ik, c.aka.ck), algorithm: c.algorithm })
      : c.ha1!;
    const expected = responseFromHa1(h1, {
      method: request.method,
      uri: creds.uri,
      nonce: c.nonce,
      ...(qop !== undefined ? { qop, nc: creds.nc ?? '', cnonce: creds.cnonce ?? '' } : {}),
      ...(qop === 'auth-int' ? { body: request.body } : {}),
      algorithm: c.algorithm,
    });
    if (!digestResponsesEqual(expected, creds.response)) {
      return { ok: false, why: c.aka ? 'the response does not match XRES: the UE computed RES with another K/OP/AMF' : 'the response does not match H(A1): wrong password' };
    }
    return { ok: true };
  } catch (e) {
    if (e instanceof DigestInputError) return { ok: false, why: e.message };
    throw e;
  }
}
