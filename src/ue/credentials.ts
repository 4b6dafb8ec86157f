/**
 * What the UE writes in Authorization (TS 24.229 §5.1.1.2.1 initial, §5.1.1.5.1 answer to a challenge):
 * the empty-response header of the first REGISTER, the Digest AKA answer (RFC 3310 AKAv1-MD5, RFC 4169
 * AKAv2-MD5) with the USIM's verdict on AUTN (TS 33.102 §6.3.3), the resync answer with auts (RFC 3310 §3.4),
 * and plain SIP Digest (RFC 2617). Pure but for the USIM, whose SQN state a good challenge advances.
 */
import type { Usim } from '../aka/usim.js';
import { akaPassword, computeDigestResponse, decodeAkaNonce, encodeAuts, parseAlgorithm, type Qop } from '../sip/auth/digest.js';
import { formatCredentials, type Challenge } from '../sip/headers/auth.js';

/** The digest state kept after a challenge, so that later REGISTERs can answer it again with nc + 1 (RFC 2617 §3.2.2). */
export interface DigestSession {
  realm: string;
  nonce: string;
  algorithm: string;
  opaque?: string | undefined;
  qop?: Qop | undefined;
  nc: number;
  password: Buffer;
}

export interface Identity {
  impi: string;
  /** The Request-URI of REGISTER, which is also the digest-uri (RFC 2617 §3.2.2 "uri"). */
  uri: string;
}

/** §5.1.1.2.1: username = IMPI, realm = home domain, uri, nonce and response empty, before any challenge. */
export function initialAuthorization(id: Identity, realm: string): string {
  return formatCredentials({
    scheme: 'Digest',
    params: new Map([
      ['username', id.impi],
      ['realm', realm],
      ['uri', id.uri],
      ['nonce', ''],
      ['response', ''],
    ]),
  });
}

export type ChallengeVerdict =
  | { kind: 'answer'; authorization: string; session: DigestSession; note: string; clause: string }
  | { kind: 'resync'; authorization: string; note: string; clause: string }
  | { kind: 'reject'; reason: string; clause: string };

/** RFC 2617 §3.2.2: "auth" when offered (we never protect the body: auth-int is only for bodies we send). */
function pickQop(challenge: Challenge): Qop | undefined {
  if (!challenge.qop) return undefined;
  return challenge.qop.includes('auth') ? 'auth' : challenge.qop.includes('auth-int') ? 'auth-int' : undefined;
}

/**
 * Answers a Digest challenge. AKA: the USIM checks AUTN; a MAC failure is a rejection of the network
 * (TS 33.102 §6.3.3, nothing sent), an SQN failure yields AUTS (RFC 3310 §3.4: auts and an empty response),
 * success the response with RES as password (AKAv1) or the RFC 4169 PRF of RES‖IK‖CK (AKAv2). Digest: the
 * configured password.
 */
export function answerChallenge(
  challenge: Challenge,
  id: Identity,
  method: string,
  secrets: { usim?: Usim | undefined; password?: string | undefined },
  cnonce: string,
): ChallengeVerdict {
  if (challenge.scheme.toLowerCase() !== 'digest') return { kind: 'reject', reason: `unsupported authentication scheme ${challenge.scheme}`, clause: 'RFC 3261 §22.4' };
  const realm = challenge.realm;
  const nonce = challenge.nonce;
  if (realm === undefined || nonce === undefined) return { kind: 'reject', reason: 'challenge without realm or nonce', clause: 'RFC 2617 §3.2.1' };
  let alg;
  try {
    alg = parseAlgorithm(challenge.algorithm);
  } catch (err) {
    return { kind: 'reject', reason: (err as Error).message, clause: 'RFC 2617 §3.2.1' };
  }
  const qop = pickQop(challenge);
  if (challenge.qop && qop === undefined) return { kind: 'reject', reason: `no usable qop in "${challenge.qop.join(',')}"`, clause: 'RFC 2617 §3.2.1' };

  let password: Buffer;
  if (alg.aka !== 0) {
    if (!secrets.usim) return { kind: 'reject', reason: `${alg.token} challenge but this UE has no USIM keys`, clause: 'TS 33.203 §6.1' };
    let rand: Buffer;
    let autn: Buffer;
    try {
      ({ rand, autn } = decodeAkaNonce(nonce));
    } catch (err) {
      return { kind: 'reject', reason: `unreadable AKA nonce: ${(err as Error).message}`, clause: 'RFC 3310 §3.2' };
    }
    const verdict = secrets.usim.authenticate(rand, autn);
    if (!verdict.ok && verdict.cause === 'mac-failure') {
      return { kind: 'reject', reason: 'network authentication failed (MAC)', clause: 'TS 33.102 §6.3.3' };
    }
    if (!verdict.ok) {
      const params = new Map<string, string>([
        ['username', id.impi],
        ['realm', realm],
        ['nonce', nonce],
        ['uri', id.uri],
        ['response', ''],
        ['algorithm', alg.token],
        ['auts', encodeAuts(verdict.auts)],
      ]);
      if (challenge.opaque !== undefined) params.set('opaque', challenge.opaque);
      return {
        kind: 'resync',
        authorization: formatCredentials({ scheme: 'Digest', params }),
        note: `USIM: SQN out of range (SQN_MS ${verdict.sqnMs.toString('hex')}): answering with AUTS for resynchronisation`,
        clause: 'TS 33.102 §6.3.3, RFC 3310 §3.4',
      };
    }
    password = akaPassword(alg.aka, verdict.res, verdict.ik, verdict.ck);
  } else {
    if (secrets.password === undefined) return { kind: 'reject', reason: 'digest challenge but this UE has no password', clause: 'RFC 3261 §22.4' };
    password = Buffer.from(secrets.password, 'utf8');
  }
  const session: DigestSession = { realm, nonce, algorithm: alg.token, opaque: challenge.opaque, qop, nc: 0, password };
  return {
    kind: 'answer',
    authorization: sessionAuthorization(session, id, method, cnonce),
    session,
    note: alg.aka ? `USIM accepted AUTN: answering with ${alg.token} (RES as digest password)` : 'answering the digest challenge',
    clause: alg.aka === 2 ? 'RFC 4169 §4' : alg.aka === 1 ? 'RFC 3310 §3.3, TS 33.102 §6.3.3' : 'RFC 2617 §3.2.2',
  };
}

/** The Authorization for the session's next request: nc advanced, fresh cnonce (RFC 2617 §3.2.2). */
export function sessionAuthorization(session: DigestSession, id: Identity, method: string, cnonce: string): string {
  session.nc++;
  const response = computeDigestResponse({
    username: id.impi,
    realm: session.realm,
    password: session.password,
    method,
    uri: id.uri,
    nonce: session.nonce,
    algorithm: session.algorithm,
    ...(session.qop ? { qop: session.qop, nc: session.nc, cnonce } : {}),
  });
  const params = new Map<string, string>([
    ['username', id.impi],
    ['realm', session.realm],
    ['nonce', session.nonce],
    ['uri', id.uri],
    ['response', response],
    ['algorithm', session.algorithm],
  ]);
  if (session.qop) {
    params.set('cnonce', cnonce);
    params.set('qop', session.qop);
    params.set('nc', session.nc.toString(16).padStart(8, '0'));
  }
  if (session.opaque !== undefined) params.set('opaque', session.opaque);
  return formatCredentials({ scheme: 'Digest', params });
}
