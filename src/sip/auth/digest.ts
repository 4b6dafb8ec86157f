import { createHmac, timingSafeEqual } from 'node:crypto';
import { hexDigest } from '../../util/hex-digest.js';

/**
 * HTTP Digest as SIP uses it (RFC 3261 §22.4 → RFC 2617 §3.2.2, RFC 7616 for the SHA-2 algorithms), with the
 * Digest AKA variants: AKAv1-MD5 (RFC 3310 §3.3, password = RES as raw octets) and AKAv2-MD5 (RFC 4169 §4,
 * password = base64(PRF(RES ‖ IK ‖ CK, "http-digest-akav2-password")), PRF = HMAC-MD5).
 * Pure functions: strings and Buffers in, lowercase hex out.
 */

export class DigestInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'DigestInputError';
  }
}

export type DigestHash = 'md5' | 'sha256' | 'sha512-256';

export interface DigestAlgorithm {
  /** The token as it appears in the challenge, e.g. "AKAv1-MD5". */
  token: string;
  hash: DigestHash;
  /** RFC 2617 §3.2.2.2 "-sess": HA1 bound to nonce and cnonce. */
  sess: boolean;
  /** 0 for a plain password, 1 for RFC 3310 AKAv1, 2 for RFC 4169 AKAv2. */
  aka: 0 | 1 | 2;
}

const HASHES: Record<string, DigestHash> = { 'MD5': 'md5', 'SHA-256': 'sha256', 'SHA-512-256': 'sha512-256' };

/** Algorithm tokens are case-insensitive (RFC 2617 §3.2.1, RFC 3310 §3.1: "AKAv1-MD5"). A missing one means MD5. */
export function parseAlgorithm(token: string | undefined): DigestAlgorithm {
  const original = token ?? 'MD5';
  let rest = original.toUpperCase();
  let aka: 0 | 1 | 2 = 0;
  if (rest.startsWith('AKAV1-')) (aka = 1), (rest = rest.slice(6));
  else if (rest.startsWith('AKAV2-')) (aka = 2), (rest = rest.slice(6));
  let sess = false;
  if (rest.endsWith('-SESS')) (sess = true), (rest = rest.slice(0, -5));
  const hash = HASHES[rest];
  if (!hash) throw new DigestInputError('algorithm', `unsupported digest algorithm "${original}"`);
  if (aka !== 0 && hash !== 'md5') throw new DigestInputError('algorithm', `RFC 3310/4169 define AKA only with MD5, not "${original}"`);
  return { token: original, hash, sess, aka };
}

function H(hash: DigestHash, data: string | Buffer): string {
  return hexDigest(hash, data);
}

function concat(...parts: Array<string | Buffer>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

export interface Ha1Input {
  username: string;
  realm: string;
  /** The password; for AKA, the output of akaPassword() (raw RES for AKAv1 is not valid UTF-8 text, hence Buffer). */
  password: Buffer | string;
  algorithm?: string;
  /** Needed for "-sess" algorithms only. */
  nonce?: string;
  cnonce?: string;
}

/** RFC 2617 §3.2.2.2: A1 = username ":" realm ":" password, or for -sess H(that) ":" nonce ":" cnonce. */
export function ha1(input: Ha1Input): string {
  const alg = parseAlgorithm(input.algorithm);
  const base = H(alg.hash, concat(input.username, ':', input.realm, ':', input.password));
  if (!alg.sess) return base;
  if (input.nonce === undefined || input.cnonce === undefined) {
    throw new DigestInputError('cnonce', `algorithm ${alg.token} needs nonce and cnonce for HA1`);
  }
  return H(alg.hash, `${base}:${input.nonce}:${input.cnonce}`);
}

export type Qop = 'auth' | 'auth-int';

/** RFC 2617 §3.2.2.3: A2 = method ":" digest-uri, with ":" H(entity-body) for auth-int. */
export function ha2(input: { method: string; uri: string; qop?: Qop | undefined; body?: Buffer | string | undefined; algorithm?: string | undefined }): string {
  const alg = parseAlgorithm(input.algorithm);
  if (input.qop === 'auth-int') {
    return H(alg.hash, `${input.method}:${input.uri}:${H(alg.hash, input.body ?? Buffer.alloc(0))}`);
  }
  return H(alg.hash, `${input.method}:${input.uri}`);
}

/** nc is 8 lowercase hex digits (RFC 2617 §3.2.2 nonce-count). */
export function formatNonceCount(nc: number | string): string {
  if (typeof nc === 'string') {
    if (!/^[0-9a-fA-F]{8}$/.test(nc)) throw new DigestInputError('nc', `expected 8 hex digits, got "${nc}"`);
    return nc.toLowerCase();
  }
  if (!Number.isInteger(nc) || nc < 1 || nc > 0xffffffff) throw new DigestInputError('nc', `out of range: ${nc}`);
  return nc.toString(16).padStart(8, '0');
}

export interface DigestResponseInput {
  username: string;
  realm: string;
  password: Buffer | string;
  method: string;
  uri: string;
  /** The nonce exactly as the challenge carried it (for AKA the base64 text, RFC 3310 §3.2). */
  nonce: string;
  nc?: number | string;
  cnonce?: string;
  qop?: Qop;
  body?: Buffer | string;
  algorithm?: string;
}

/** RFC 2617 §3.2.2.1 request-digest, with qop (KD(HA1, nonce:nc:cnonce:qop:HA2)) or without (RFC 2069 form). */
export function computeDigestResponse(input: DigestResponseInput): string {
  const alg = parseAlgorithm(input.algorithm);
  const a1 = ha1({
    username: input.username,
    realm: input.realm,
    password: input.password,
    algorithm: alg.token,
    nonce: input.nonce,
    ...(input.cnonce !== undefined ? { cnonce: input.cnonce } : {}),
  });
  return responseFromHa1(a1, input);
}

/** The same with HA1 already known (a registrar may store HA1 rather than the password, RFC 2617 §4.13). */
export function responseFromHa1(a1: string, input: Omit<DigestResponseInput, 'username' | 'realm' | 'password'>): string {
  const alg = parseAlgorithm(input.algorithm);
  const a2 = ha2({ method: input.method, uri: input.uri, qop: input.qop, body: input.body, algorithm: alg.token });
  if (input.qop === undefined) return H(alg.hash, `${a1}:${input.nonce}:${a2}`);
  if (input.qop !== 'auth' && input.qop !== 'auth-int') throw new DigestInputError('qop', `unsupported qop "${String(input.qop)}"`);
  if (input.nc === undefined) throw new DigestInputError('nc', 'required with qop');
  if (input.cnonce === undefined) throw new DigestInputError('cnonce', 'required with qop');
  return H(alg.hash, `${a1}:${input.nonce}:${formatNonceCount(input.nc)}:${input.cnonce}:${input.qop}:${a2}`);
}

/** Constant-time comparison of a received response with the expected one (case-insensitive hex). */
export function digestResponsesEqual(expected: string, received: string): boolean {
  const a = Buffer.from(expected.toLowerCase());
  const b = Buffer.from(received.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

const AKAV2_LABEL = 'http-digest-akav2-password';

/**
 * The digest password of Digest AKA. v1 (RFC 3310 §3.3): RES itself, as raw octets (not its hex text).
 * v2 (RFC 4169 §4): base64(HMAC-MD5(key = RES ‖ IK ‖ CK, "http-digest-akav2-password")), as its ASCII text.
 */
export function akaPassword(version: 1 | 2, res: Buffer, ik?: Buffer, ck?: Buffer): Buffer {
  if (version === 1) return Buffer.from(res);
  if (!ik || !ck) throw new DigestInputError(!ik ? 'IK' : 'CK', 'AKAv2 needs RES, IK and CK');
  const prf = createHmac('md5', Buffer.concat([res, ik, ck])).update(AKAV2_LABEL).digest();
  return Buffer.from(prf.toString('base64'), 'ascii');
}

/** The AKA nonce of RFC 3310 §3.2 decoded. */
export interface AkaNonce {
  rand: Buffer;
  autn: Buffer;
  /** Octets after AUTN: server-specific data, opaque to the UE. */
  serverData: Buffer;
}

/** RFC 3310 §3.2: nonce = base64(RAND ‖ AUTN ‖ server-specific data). */
export function encodeAkaNonce(input: { rand: Buffer; autn: Buffer; serverData?: Buffer }): string {
  if (input.rand.length !== 16) throw new DigestInputError('RAND', `expected 16 octets, got ${input.rand.length}`);
  if (input.autn.length !== 16) throw new DigestInputError('AUTN', `expected 16 octets, got ${input.autn.length}`);
  return Buffer.concat([input.rand, input.autn, input.serverData ?? Buffer.alloc(0)]).toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64: Buffer.from(…, 'base64') skips junk silently, which would turn a mangled nonce into a wrong RAND. */
export function decodeBase64(field: string, text: string): Buffer {
  const s = text.trim();
  if (!BASE64.test(s) || s.length % 4 === 1) throw new DigestInputError(field, `not valid base64: "${text}"`);
  return Buffer.from(s, 'base64');
}

export function decodeAkaNonce(nonce: string): AkaNonce {
  const raw = decodeBase64('nonce', nonce);
  if (raw.length < 32) throw new DigestInputError('nonce', `an AKA nonce holds at least RAND and AUTN (32 octets), got ${raw.length}`);
  return { rand: raw.subarray(0, 16), autn: raw.subarray(16, 32), serverData: raw.subarray(32) };
}

/** RFC 3310 §3.4: the auts directive is base64(AUTS), AUTS being 14 octets (TS 33.102 §6.3.3). */
export function encodeAuts(auts: Buffer): string {
  if (auts.length !== 14) throw new DigestInputError('auts', `expected 14 octets, got ${auts.length}`);
  return auts.toString('base64');
}

export function decodeAuts(param: string): Buffer {
  const raw = decodeBase64('auts', param);
  if (raw.length !== 14) throw new DigestInputError('auts', `AUTS is 14 octets, got ${raw.length}`);
  return raw;
}
