/**
 * Security agreement between a UE and the P-CSCF (RFC 3329, TS 33.203 §7, TS 24.229 §5.2.2.1): the UE offers
 * ipsec-3gpp in Security-Client, the P-CSCF answers with Security-Server in the 401, the UE echoes it in
 * Security-Verify over the new SAs. Pure functions over headers; no I/O, no kernel IPsec (imslab simulates
 * the protection: the SA parameters are recorded and checked, packets stay in clear text).
 */
import type { Headers, SipRequest } from '../sip/message.js';
import { SipParseError } from '../sip/parser.js';
import {
  ipsecParams,
  parseSecurityMechanisms,
  type IpsecParams,
  type SecurityMechanism,
} from '../sip/headers/security.js';
import type { Random } from '../util/random.js';

/** Integrity algorithms of TS 33.203 §6.1 / Annex H, in the P-CSCF's order of preference. */
export const INTEGRITY_ALGORITHMS = ['hmac-sha-1-96', 'hmac-md5-96'] as const;
/** Encryption algorithms of TS 33.203 §6.2 (null = integrity only), in order of preference. */
export const ENCRYPTION_ALGORITHMS = ['aes-cbc', 'des-ede3-cbc', 'null'] as const;

/** What one side of the SA pair uses: the SPIs and protected ports it receives on (TS 33.203 §7.1). */
export interface IpsecEndpoint {
  spiC: number;
  spiS: number;
  portC: number;
  portS: number;
}

/** The UE's offer, as read from its Security-Client (every ipsec-3gpp parameter is mandatory, TS 33.203 §7.2). */
export interface IpsecOffer extends IpsecEndpoint {
  alg: string;
  /** Absent in the offer means "null" (TS 33.203 §7.2: ealg may be left out). */
  ealg?: string;
  prot?: string;
  mod?: string;
}

/** The P-CSCF's choice for one UE: the algorithms both sides use and its own SPIs and ports. */
export interface IpsecChoice extends IpsecEndpoint {
  alg: string;
  ealg: string;
  prot: string;
  mod: string;
}

export class SecAgreeError extends Error {
  constructor(
    message: string,
    /** The status to answer with (RFC 3329 §2.3.1: 494 when the agreement cannot be made). */
    readonly status: number,
    /** The clause the refusal comes from. */
    readonly clause: string,
  ) {
    super(message);
    this.name = 'SecAgreeError';
  }
}

/** Whether an option tag is listed in Require or Proxy-Require (either is how a UE asks, RFC 3329 §2.3.1). */
export function requiresSecAgree(headers: Headers): boolean {
  for (const name of ['Require', 'Proxy-Require']) {
    for (const t of headers.list(name)) if (t.trim().toLowerCase() === 'sec-agree') return true;
  }
  return false;
}

/**
 * Whether the UE asks for security agreement with IPsec (TS 24.229 §5.2.2.1): a Security-Client naming
 * ipsec-3gpp, and sec-agree in Require or Proxy-Require. Any other combination is not an IMS AKA client with
 * sec-agree and gets no Security-Server (the P-CSCF never imposes it on a client that did not ask).
 */
export function asksForIpsec(request: SipRequest): boolean {
  if (!requiresSecAgree(request.headers)) return false;
  const values = request.headers.getAll('Security-Client');
  if (values.length === 0) return false;
  try {
    return parseSecurityMechanisms(values).some((m) => m.mechanism.toLowerCase() === 'ipsec-3gpp');
  } catch {
    // An unreadable Security-Client still means "asks"; the offer's own parse says why it fails.
    return true;
  }
}

/**
 * Reads the UE's ipsec-3gpp offers from Security-Client (TS 33.203 §7.2): each must carry alg, spi-c, spi-s,
 * port-c and port-s. Returns the offers in the UE's order; throws SecAgreeError (494) when none is usable.
 */
export function readOffers(headers: Headers): IpsecOffer[] {
  const offers = offersOf(securityClient(headers.getAll('Security-Client')));
  if (offers.length === 0) throw new SecAgreeError('Security-Client offers no ipsec-3gpp mechanism', 494, 'TS 33.203 §7.2');
  return offers;
}

/**
 * asksForIpsec and readOffers in one reading of Security-Client (it is parsed once per REGISTER): undefined
 * when the UE does not ask for sec-agree with IPsec, else its offers; throws SecAgreeError as readOffers does.
 */
export function askedOffers(headers: Headers): IpsecOffer[] | undefined {
  if (!requiresSecAgree(headers)) return undefined;
  const values = headers.getAll('Security-Client');
  if (values.length === 0) return undefined;
  // Unreadable still means "asks" (asksForIpsec); the refusal says why.
  const offers = offersOf(securityClient(values));
  return offers.length > 0 ? offers : undefined;
}

function securityClient(values: string[]): SecurityMechanism[] {
  try {
    return parseSecurityMechanisms(values);
  } catch (e) {
    throw new SecAgreeError(`unreadable Security-Client: ${(e as Error).message}`, 400, 'RFC 3329 §2.2');
  }
}

/** The ipsec-3gpp mechanisms as offers, in the UE's order; throws SecAgreeError on one that lacks a parameter. */
function offersOf(mechanisms: readonly SecurityMechanism[]): IpsecOffer[] {
  const offers: IpsecOffer[] = [];
  for (const m of mechanisms) {
    if (m.mechanism.toLowerCase() !== 'ipsec-3gpp') continue;
    let p: IpsecParams;
    try {
      p = ipsecParams(m);
    } catch (e) {
      throw new SecAgreeError(`unreadable ipsec-3gpp offer: ${(e as Error).message}`, 400, 'TS 33.203 §7.2');
    }
    if (p.alg === undefined || p.spiC === undefined || p.spiS === undefined || p.portC === undefined || p.portS === undefined) {
      const missing = (['alg', 'spiC', 'spiS', 'portC', 'portS'] as const).filter((k) => p[k] === undefined);
      throw new SecAgreeError(
        `ipsec-3gpp offer lacks ${missing.map((k) => k.replace(/[CS]$/, (c) => '-' + c.toLowerCase())).join(', ')}`,
        494,
        'TS 33.203 §7.2',
      );
    }
    const offer: IpsecOffer = { alg: p.alg, spiC: p.spiC, spiS: p.spiS, portC: p.portC, portS: p.portS };
    if (p.ealg !== undefined) offer.ealg = p.ealg;
    if (p.prot !== undefined) offer.prot = p.prot;
    if (p.mod !== undefined) offer.mod = p.mod;
    offers.push(offer);
  }
  return offers;
}

/**
 * Chooses the algorithms (TS 33.203 §7.1: the P-CSCF picks from the UE's list, by its own preference) and the
 * P-CSCF's SPIs (fresh, non-zero, distinct from the UE's so the four SAs are told apart, RFC 4303 §2.1) and
 * protected ports. Throws SecAgreeError (494) when no offered integrity algorithm is supported.
 */
export function chooseIpsec(offers: readonly IpsecOffer[], ports: { portC: number; portS: number }, random: Random): { offer: IpsecOffer; choice: IpsecChoice } {
  for (const alg of INTEGRITY_ALGORITHMS) {
    const withAlg = offers.filter((o) => o.alg.toLowerCase() === alg);
    if (withAlg.length === 0) continue;
    for (const ealg of ENCRYPTION_ALGORITHMS) {
      const offer = withAlg.find((o) => (o.ealg ?? 'null').toLowerCase() === ealg);
      if (!offer) continue;
      const taken = new Set([offer.spiC, offer.spiS]);
      const spiC = freshSpi(random, taken);
      taken.add(spiC);
      const spiS = freshSpi(random, taken);
      const choice: IpsecChoice = { alg, ealg, spiC, spiS, portC: ports.portC, portS: ports.portS, prot: (offer.prot ?? 'esp').toLowerCase(), mod: (offer.mod ?? 'trans').toLowerCase() };
      return { offer, choice };
    }
  }
  const offered = offers.map((o) => `${o.alg}/${o.ealg ?? 'null'}`).join(', ');
  throw new SecAgreeError(`no supported algorithm pair among ${offered} (P-CSCF supports ${INTEGRITY_ALGORITHMS.join(', ')})`, 494, 'TS 33.203 §7.1');
}

/** SPI values 1..255 are reserved by IANA (RFC 4303 §2.1); 256..2^32-1 are usable. */
function freshSpi(random: Random, taken: ReadonlySet<number>): number {
  for (;;) {
    const spi = 256 + random.int(0xffffffff - 256);
    if (!taken.has(spi)) return spi;
  }
}

/** The P-CSCF's mechanism for Security-Server (TS 33.203 §7.2, q=0.1 as in TS 24.228 §6.2 flows). */
export function serverMechanism(choice: IpsecChoice): SecurityMechanism {
  const params = new Map<string, string | null>([
    ['q', '0.1'],
    ['prot', choice.prot],
    ['mod', choice.mod],
    ['spi-c', String(choice.spiC)],
    ['spi-s', String(choice.spiS)],
    ['port-c', String(choice.portC)],
    ['port-s', String(choice.portS)],
    ['alg', choice.alg],
    ['ealg', choice.ealg],
  ]);
  return { mechanism: 'ipsec-3gpp', params };
}

/** formatSecurityMechanism(serverMechanism(choice)), written straight out: the same bytes, no Map on the way. */
export function formatServerMechanism(choice: IpsecChoice): string {
  return (
    `ipsec-3gpp;q=0.1;prot=${choice.prot};mod=${choice.mod};spi-c=${choice.spiC};spi-s=${choice.spiS}` +
    `;port-c=${choice.portC};port-s=${choice.portS};alg=${choice.alg};ealg=${choice.ealg}`
  );
}

/**
 * RFC 3329 §2.3.1 step 5 / TS 33.203 §7.4: the Security-Verify of the protected REGISTER must list exactly the
 * mechanisms the P-CSCF sent in Security-Server. Compared as parsed mechanisms (names and parameter names are
 * case-insensitive; values compared as written, without quotes), in order. Returns why not, or undefined.
 */
export function verifyMismatch(headers: Headers, sent: readonly SecurityMechanism[]): string | undefined {
  return verifyMismatchOf(readVerify(headers), sent);
}

/** Security-Verify parsed (read once, compared with each candidate SA), or why it cannot be. */
export function readVerify(headers: Headers): SecurityMechanism[] | string {
  const values = headers.getAll('Security-Verify');
  if (values.length === 0) return 'no Security-Verify';
  try {
    return parseSecurityMechanisms(values);
  } catch (e) {
    return `unreadable Security-Verify: ${(e as Error).message}`;
  }
}

/** verifyMismatch on a Security-Verify already read (readVerify). */
export function verifyMismatchOf(got: readonly SecurityMechanism[] | string, sent: readonly SecurityMechanism[]): string | undefined {
  if (typeof got === 'string') return got;
  if (got.length !== sent.length) return `Security-Verify lists ${got.length} mechanism(s), Security-Server had ${sent.length}`;
  for (let i = 0; i < sent.length; i++) {
    const a = sent[i]!;
    const b = got[i]!;
    if (a.mechanism.toLowerCase() !== b.mechanism.toLowerCase()) return `mechanism ${b.mechanism} where ${a.mechanism} was sent`;
    // Every parameter of either, in the order sent then those only Security-Verify has.
    for (const n of a.params.keys()) {
      const why = paramMismatch(n, a.params.get(n), b.params.get(n));
      if (why) return why;
    }
    for (const n of b.params.keys()) {
      if (a.params.has(n)) continue;
      const why = paramMismatch(n, undefined, b.params.get(n));
      if (why) return why;
    }
  }
  return undefined;
}

function paramMismatch(name: string, sent: string | null | undefined, got: string | null | undefined): string | undefined {
  const va = unq(sent);
  const vb = unq(got);
  if (va !== undefined && vb !== undefined && (va === vb || va.toLowerCase() === vb.toLowerCase())) return undefined;
  return `${name}=${vb ?? '(absent)'} where Security-Server said ${name}=${va ?? '(absent)'}`;
}

function unq(v: string | null | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v === null) return '';
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/**
 * What the P-CSCF takes out before forwarding (TS 24.229 §5.2.2.1, RFC 3329 §2.3.1): Security-Client,
 * Security-Verify, and the sec-agree option tag from Require and Proxy-Require; a header left empty goes.
 * Returns the names of what was removed (for the trace).
 */
export function stripSecAgree(headers: Headers): string[] {
  const removed: string[] = [];
  for (const name of ['Security-Client', 'Security-Verify']) if (headers.delete(name) > 0) removed.push(name);
  for (const name of ['Require', 'Proxy-Require']) {
    const tags = headers.list(name);
    const kept = tags.filter((t) => t.trim().toLowerCase() !== 'sec-agree');
    if (kept.length === tags.length) continue;
    removed.push(`sec-agree in ${name}`);
    if (kept.length === 0) headers.delete(name);
    else headers.set(name, kept.join(', '));
  }
  return removed;
}

/** Parses a Security-Server value we wrote back into mechanisms (for the Security-Verify check). */
export function mechanismsOf(value: string): SecurityMechanism[] {
  try {
    return parseSecurityMechanisms([value]);
  } catch (e) {
    throw new SipParseError(`own Security-Server unreadable: ${(e as Error).message}`);
  }
}
