/**
 * The HSS subscriber model (TS 23.228 §5.2, TS 29.228 Annex B): one IMS subscription per private user
 * identity, its implicit registration set of public identities, the credentials for the authentication
 * schemes it may use, and what the HSS remembers about it between requests (registration state and the
 * assigned S-CSCF, TS 29.228 §6.1.2).
 */

import { publicIdentityKey } from '../sip/public-identity.js';

/** Schemes a subscriber may be allowed (TS 29.229 §6.3.9 SIP-Authentication-Scheme; RFC 3310, RFC 4169, RFC 2617). */
export type AuthScheme = 'AKAv1-MD5' | 'AKAv2-MD5' | 'SIP Digest';
export const AUTH_SCHEMES: readonly AuthScheme[] = ['AKAv1-MD5', 'AKAv2-MD5', 'SIP Digest'];

/** A public user identity (TS 23.003 §13.4): a sip:/sips: or tel: URI. */
export interface PublicIdentity {
  uri: string;
  /** Barring-Indication (TS 29.228 Annex B.2.1): may register, may not originate or receive sessions. */
  barred: boolean;
  /** Public identities with the same id share one ServiceProfile in the User-Data; absent = the default profile. */
  serviceProfileId?: string;
}

/** Capabilities the S-CSCF must (or should) have to serve this user (TS 29.228 §6.7, Server-Capabilities AVP). */
export interface RequiredCapabilities {
  mandatory: number[];
  optional: number[];
}

export interface Subscriber {
  /** Private user identity, NAI form `user@realm` (TS 23.003 §13.3). */
  impi: string;
  /**
   * The public identities of the subscription. imslab treats them all as one implicit registration set
   * (TS 23.228 §5.2.1a): a registration of one registers them all.
   */
  impus: PublicIdentity[];
  authSchemes: AuthScheme[];
  /** Subscriber key K, 16 octets (TS 33.102 §6.3.7). */
  k?: Buffer;
  /** Operator variant OP, 16 octets (TS 35.206 §2); the HSS derives OPc when only OP is known. */
  op?: Buffer;
  /** OPc, 16 octets. */
  opc?: Buffer;
  /** Authentication management field, 2 octets (TS 33.102 Annex H). */
  amf: Buffer;
  /** The HSS's SEQ‖IND counter, 48 bits (TS 33.102 §6.3.2, Annex C). */
  sqn: bigint;
  /** Clear-text password for SIP Digest (TS 33.203 Annex N); the HSS hands out only H(A1). */
  password?: string;
  /**
   * Visited networks (P-Visited-Network-ID values) this user may register from (TS 29.228 §6.1.1.1 step 2).
   * The home network (the realm of the IMPI and the HSS's own realm) is always allowed; an empty list
   * means "home only", as for a subscription without a roaming agreement; `*` allows any network.
   */
  allowedVisitedNetworks: string[];
  /** The IMSSubscription XML (TS 29.228 Annex D/E) sent as User-Data; generated from the model when absent. */
  userData?: string;
  /** What the S-CSCF serving this user needs; absent = no requirement. */
  capabilities?: RequiredCapabilities;
}

/** Registration state of a public identity as the HSS sees it (TS 29.228 §6.1.2, Annex B.1). */
export type RegistrationState = 'NOT_REGISTERED' | 'REGISTERED' | 'UNREGISTERED';

/** What the HSS keeps per public identity between requests. */
export interface Registration {
  impu: string;
  state: RegistrationState;
  /** The assigned S-CSCF (SIP URI, Server-Name AVP), when one is stored. */
  serverName?: string;
  /** Diameter identity of that S-CSCF (Origin-Host / Origin-Realm of its MAR or SAR): where an RTR or PPR goes. */
  scscfHost?: string;
  scscfRealm?: string;
  /**
   * Set by a MAR for an identity that is not registered (TS 29.228 §6.3.1: "authentication pending"), cleared
   * by the SAR that follows. A second MAR while it is set means the UE did not pass the first challenge.
   */
  authPending: boolean;
}

export function notRegistered(impu: string): Registration {
  return { impu, state: 'NOT_REGISTERED', authPending: false };
}

/** One row of the S-CSCF capability table the I-CSCF selects from (TS 29.228 §6.7). */
export interface ScscfCapabilities {
  serverName: string;
  capabilities: number[];
}

/** The realm of an NAI `user@realm` (TS 23.003 §13.3), lowercased; empty when there is none. */
export function realmOf(impi: string): string {
  const at = impi.lastIndexOf('@');
  return at < 0 ? '' : impi.slice(at + 1).toLowerCase();
}

/** The key an IMPU is stored and looked up by: see publicIdentityKey (TS 23.003 §13.4). */
export function normaliseImpu(uri: string): string {
  return publicIdentityKey(uri);
}

export class SubscriberError extends Error {
  override readonly name = 'SubscriberError';
}

/**
 * The model's invariants, checked on every way in (CSV, CLI, API): an NAI private identity, at least one
 * sip:/sips:/tel: public identity, key material of the right length for each AKA scheme, a password for
 * SIP Digest. Throws a SubscriberError naming the field.
 */
export function validateSubscriber(s: Subscriber): void {
  const fail = (field: string, why: string) => {
    throw new SubscriberError(`${field}: ${why}`);
  };
  if (!s.impi || /[\s;,<>"]/.test(s.impi)) fail('impi', `"${s.impi}" is not a private identity`);
  if (!s.impi.includes('@') || s.impi.startsWith('@') || s.impi.endsWith('@'))
    fail('impi', `"${s.impi}" must have the NAI form user@realm (TS 23.003 §13.3)`);
  if (s.impus.length === 0) fail('impu', 'at least one public identity is required');
  const seen = new Set<string>();
  for (const p of s.impus) {
    const lower = p.uri.toLowerCase();
    if (!(lower.startsWith('sip:') || lower.startsWith('sips:') || lower.startsWith('tel:')) || /[\s;<>"]/.test(p.uri) || p.uri.length < 5)
      fail('impu', `"${p.uri}" is not a sip:, sips: or tel: URI (TS 23.003 §13.4)`);
    const n = normaliseImpu(p.uri);
    if (seen.has(n)) fail('impu', `"${p.uri}" is listed twice`);
    seen.add(n);
  }
  if (s.authSchemes.length === 0) fail('scheme', 'at least one authentication scheme is required');
  for (const scheme of s.authSchemes) if (!AUTH_SCHEMES.includes(scheme)) fail('scheme', `unknown scheme "${scheme}"`);
  const aka = s.authSchemes.some((x) => x !== 'SIP Digest');
  if (aka) {
    if (!s.k) fail('k', 'AKA needs the subscriber key K');
    if (!s.op && !s.opc) fail('op', 'AKA needs OP or OPc');
  }
  for (const [field, v] of [['k', s.k], ['op', s.op], ['opc', s.opc]] as const)
    if (v && v.length !== 16) fail(field, `must be 16 octets, got ${v.length}`);
  if (s.amf.length !== 2) fail('amf', `must be 2 octets, got ${s.amf.length}`);
  if (s.sqn < 0n || s.sqn >= 1n << 48n) fail('sqn', 'must fit in 48 bits');
  if (s.authSchemes.includes('SIP Digest') && (s.password === undefined || s.password === ''))
    fail('password', 'SIP Digest needs a password');
}

/** The default schemes for the credentials given: AKA (both versions) with K, SIP Digest with a password. */
export function defaultSchemes(s: { k?: Buffer; password?: string }): AuthScheme[] {
  const out: AuthScheme[] = [];
  if (s.k) out.push('AKAv1-MD5', 'AKAv2-MD5');
  if (s.password !== undefined && s.password !== '') out.push('SIP Digest');
  return out;
}

/** The form `imslab hss show` prints: JSON-safe, with the secrets present but marked as such. */
export function subscriberToJson(s: Subscriber): Record<string, unknown> {
  return {
    impi: s.impi,
    impus: s.impus.map((p) => ({ uri: p.uri, barred: p.barred, ...(p.serviceProfileId ? { serviceProfileId: p.serviceProfileId } : {}) })),
    authSchemes: s.authSchemes,
    secrets: {
      _note: 'lab secrets, shown in clear on purpose; never reuse them on a real network',
      ...(s.k ? { k: s.k.toString('hex') } : {}),
      ...(s.op ? { op: s.op.toString('hex') } : {}),
      ...(s.opc ? { opc: s.opc.toString('hex') } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
    },
    amf: s.amf.toString('hex'),
    sqn: s.sqn.toString(16).padStart(12, '0'),
    allowedVisitedNetworks: s.allowedVisitedNetworks,
    ...(s.capabilities ? { capabilities: s.capabilities } : {}),
    ...(s.userData ? { userData: s.userData } : {}),
  };
}
