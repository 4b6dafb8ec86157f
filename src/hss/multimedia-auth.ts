import { Milenage, computeOpc } from '../aka/milenage.js';
import { resynchronise, splitResyncAuthorization } from '../aka/resync.js';
import { nextSqn } from '../aka/sqn.js';
import { generateVector } from '../aka/vector.js';
import type { SipAuthDataItem } from '../diameter/cx/common.js';
import { ExperimentalResultCode, SipAuthenticationScheme } from '../diameter/cx/constants.js';
import type { MultimediaAuthAnswer, MultimediaAuthRequest } from '../diameter/cx/multimedia-auth.js';
import { ResultCode } from '../diameter/result-codes.js';
import { ha1 } from '../sip/auth/digest.js';
import { experimentalName, who, type HssContext } from './context.js';
import { checkIdentities } from './identities.js';
import { realmOf, type AuthScheme, type Registration, type Subscriber } from './subscriber.js';

const CLAUSE = 'TS 29.228 §6.3.1';

/** SIP-Authentication-Scheme values (TS 29.229 §6.3.9) and the subscriber scheme each one asks for. */
const SCHEME_BY_NAME: Record<string, AuthScheme | 'choose'> = {
  [SipAuthenticationScheme.AKAv1_MD5.toLowerCase()]: 'AKAv1-MD5',
  [SipAuthenticationScheme.AKAv2_MD5.toLowerCase()]: 'AKAv2-MD5',
  [SipAuthenticationScheme.SIP_DIGEST.toLowerCase()]: 'SIP Digest',
  // Kamailio's ims_auth names plain MD5 digest "Digest-MD5"; it is SIP Digest to the HSS.
  'digest-md5': 'SIP Digest',
  [SipAuthenticationScheme.UNKNOWN.toLowerCase()]: 'choose',
};

const WIRE_NAME: Record<AuthScheme, string> = {
  'AKAv1-MD5': SipAuthenticationScheme.AKAv1_MD5,
  'AKAv2-MD5': SipAuthenticationScheme.AKAv2_MD5,
  'SIP Digest': SipAuthenticationScheme.SIP_DIGEST,
};

/**
 * MAR → MAA: the S-CSCF asks for authentication data (TS 29.228 §6.3.1, TS 33.203 §6.1). In order:
 * identities (5001/5002), the scheme (5006), resynchronisation when SIP-Authorization carries RAND‖AUTS
 * (TS 33.102 §6.3.5), the S-CSCF name against the registration state, then the vectors. Each AKA vector
 * carries a fresh SQN, and the SQNs and the S-CSCF name are on disk before the answer leaves.
 */
export function multimediaAuth(ctx: HssContext, r: MultimediaAuthRequest): MultimediaAuthAnswer {
  const check = checkIdentities(ctx.store, r.userName, r.publicIdentity);
  if (!check.ok) {
    ctx.note('info', `MAR: ${check.reason}; answering ${experimentalName(check.experimentalResultCode)}`, CLAUSE);
    return { experimentalResultCode: check.experimentalResultCode, sipAuthDataItems: [] };
  }
  const s = check.subscriber;
  const asked = r.sipAuthDataItem.authenticationScheme ?? SipAuthenticationScheme.UNKNOWN;
  const wanted = SCHEME_BY_NAME[asked.toLowerCase()];
  const scheme = wanted === 'choose' ? s.authSchemes[0] : wanted;
  if (!scheme || !s.authSchemes.includes(scheme)) {
    ctx.note(
      'info',
      `MAR: ${who(s)} may not use "${asked}" (allowed: ${s.authSchemes.join(', ')}); answering DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED`,
      CLAUSE,
    );
    return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED, sipAuthDataItems: [] };
  }

  let resyncFrom: bigint | undefined;
  const authorization = r.sipAuthDataItem.authorization;
  if (authorization !== undefined && scheme !== 'SIP Digest') {
    if (authorization.length !== 30) {
      ctx.note('warn', `MAR: SIP-Authorization of ${authorization.length} octets is not RAND‖AUTS (30 octets)`, 'TS 29.228 §6.3.1');
      return { resultCode: ResultCode.DIAMETER_INVALID_AVP_VALUE, sipAuthDataItems: [] };
    }
    const { rand, auts } = splitResyncAuthorization(authorization);
    const result = resynchronise({ k: s.k!, opc: opcOf(s), rand, auts });
    if (!result.valid) {
      ctx.note(
        'warn',
        `MAR: the AUTS from ${who(s)} fails its MAC-S check, so the UE's K/OP differ from this subscription's; check K/OP/AMF with \`imslab aka doctor\`; answering DIAMETER_AUTHORIZATION_REJECTED`,
        'TS 33.102 §6.3.5',
      );
      return { resultCode: ResultCode.DIAMETER_AUTHORIZATION_REJECTED, sipAuthDataItems: [] };
    }
    resyncFrom = BigInt('0x' + result.sqnMs.toString('hex'));
    ctx.note(
      'info',
      `MAR: AUTS says the UE is at SQN 0x${hex12(resyncFrom)}; ours was 0x${hex12(s.sqn)}; resynchronised`,
      'TS 33.102 §6.3.5',
      { impi: s.impi, sqnMs: hex12(resyncFrom), sqnHe: hex12(s.sqn) },
    );
  }

  const registrations = assignment(ctx, s, r);
  const count = Math.max(1, Math.min(r.sipNumberAuthItems, ctx.options.maxVectors ?? 5));
  let items: SipAuthDataItem[];
  if (scheme === 'SIP Digest') {
    ctx.store.setRegistrations(registrations);
    items = [digestItem(ctx, s)];
  } else {
    const sqns: bigint[] = [];
    ctx.store.transaction((tx) => {
      tx.setRegistrations(registrations);
      tx.nextSqn(s.impi, (current) => {
        let q = resyncFrom ?? current;
        for (let i = 0; i < count; i++) sqns.push((q = toBigint(nextSqn(q))));
        return q;
      });
    });
    items = akaItems(ctx, s, scheme, sqns);
  }
  countChallenge(ctx, s, resyncFrom !== undefined);
  ctx.note('info', `MAR: ${items.length} ${scheme} vector${items.length === 1 ? '' : 's'} for ${who(s)}, S-CSCF ${r.serverName}`, CLAUSE);
  return {
    resultCode: ResultCode.DIAMETER_SUCCESS,
    userName: s.impi,
    publicIdentity: r.publicIdentity,
    sipNumberAuthItems: items.length,
    sipAuthDataItems: items,
  };
}

/**
 * The S-CSCF name against the registration state (TS 29.228 §6.3.1 step 4, §8.1.1): not registered → store
 * the name with the "authentication pending" flag; registered or unregistered with another S-CSCF → the
 * MAR's name overwrites the stored one, state unchanged.
 */
function assignment(ctx: HssContext, s: Subscriber, r: MultimediaAuthRequest): Registration[] {
  return s.impus.map((p) => {
    const current = ctx.store.getRegistration(p.uri);
    if (current.state !== 'NOT_REGISTERED' && current.serverName && current.serverName !== r.serverName)
      ctx.note('warn', `MAR: ${p.uri} was served by ${current.serverName}; ${r.serverName} takes over`, 'TS 29.228 §8.1.1');
    return {
      impu: p.uri,
      state: current.state,
      serverName: r.serverName,
      scscfHost: r.originHost,
      scscfRealm: r.originRealm,
      authPending: current.state === 'NOT_REGISTERED',
    };
  });
}

function akaItems(ctx: HssContext, s: Subscriber, scheme: AuthScheme, sqns: bigint[]): SipAuthDataItem[] {
  const opc = opcOf(s);
  const milenage = new Milenage(s.k!, opc);
  return sqns.map((sqn, i) => {
    const v = generateVector({ k: s.k!, opc, sqn, amf: s.amf, rand: ctx.random.bytes(16), milenage });
    // TS 29.229 §6.3.10-§6.3.12: SIP-Authenticate = RAND‖AUTN, SIP-Authorization = XRES, CK and IK raw.
    return {
      itemNumber: i + 1,
      authenticationScheme: WIRE_NAME[scheme],
      authenticate: Buffer.concat([v.rand, v.autn]),
      authorization: v.xres,
      confidentialityKey: v.ck,
      integrityKey: v.ik,
    };
  });
}

/**
 * SIP Digest (TS 33.203 Annex N, TS 29.229 §6.3.36): H(A1) in SIP-Digest-Authenticate with Digest-Realm,
 * Digest-Algorithm and Digest-QoP — the grouped AVP Kamailio's ims_auth reads for "SIP Digest". The clear
 * password never leaves the HSS.
 */
function digestItem(ctx: HssContext, s: Subscriber): SipAuthDataItem {
  const realm = ctx.options.digestRealm ?? realmOf(s.impi);
  return {
    itemNumber: 1,
    authenticationScheme: SipAuthenticationScheme.SIP_DIGEST,
    digestAuthenticate: { realm, algorithm: 'MD5', qop: 'auth', ha1: ha1({ username: s.impi, realm, password: s.password! }) },
  };
}

/** A MAR without an SAR since the previous one means the UE did not get through the previous challenge. */
function countChallenge(ctx: HssContext, s: Subscriber, resync: boolean): void {
  const n = resync ? 1 : (ctx.pendingChallenges.get(s.impi) ?? 0) + 1;
  ctx.pendingChallenges.set(s.impi, n);
  if (n === 2)
    ctx.note('info', `MAR: a second MAR for ${who(s)} without an SAR in between: the UE did not pass the previous challenge`, CLAUSE);
  else if (n > 2)
    ctx.note('warn', `MAR: the UE failed the challenge twice; check K/OP/AMF with \`imslab aka doctor\` (${s.impi})`, CLAUSE, { impi: s.impi, mars: n });
}

function opcOf(s: Subscriber): Buffer {
  return s.opc ?? computeOpc(s.k!, s.op!);
}

function toBigint(sqn: Buffer): bigint {
  return BigInt('0x' + sqn.toString('hex'));
}

function hex12(n: bigint): string {
  return n.toString(16).padStart(12, '0');
}
