import { timingSafeEqual } from 'node:crypto';
import { AkaInputError, requireLength } from './bytes.js';
import { Milenage, computeOpc } from './milenage.js';
import { resynchronise } from './resync.js';
import { splitSqn, sqnToNumber } from './sqn.js';
import { parseAutn } from './vector.js';
import {
  akaPassword,
  computeDigestResponse,
  decodeAkaNonce,
  decodeAuts,
  parseAlgorithm,
  type AkaNonce,
  type Qop,
} from '../sip/auth/digest.js';

/**
 * The AKA doctor: given a challenge (the nonce), what the UE answered and the subscriber record, find the
 * configuration mistake that explains the answer. It replays the UE's computation under each hypothesis
 * (right keys, OP and OPc swapped, other AMFs, AKAv1 vs AKAv2 password, RES as hex text, empty password)
 * and names the one that reproduces what was seen — the usual causes of an endless 401 loop.
 */

export type DoctorVerdict =
  | 'ok'
  | 'op-used-as-opc'
  | 'opc-used-as-op'
  | 'wrong-amf'
  | 'wrong-k-or-op'
  | 'sqn-out-of-range'
  | 'wrong-algorithm'
  | 'res-as-hex-password'
  | 'mac-failure'
  | 'nonce-not-from-subscriber'
  | 'bad-input';

export interface DoctorSubscriber {
  k: Buffer;
  op?: Buffer;
  opc?: Buffer;
  /** The AMF the HSS (and a UE such as SIPp, which checks MAC with its own AMF) is configured with. */
  amf: Buffer;
  /** The SQN the HSS holds now, if known: compared with the SQN in AUTN and SQN_MS. */
  sqnHss?: Buffer;
}

/** The Authorization parameters as the UE sent them (RFC 3310 §3.3/§3.4). */
export interface DoctorAuthorization {
  /** The response directive; "" when the UE rejected the challenge (MAC failure). */
  response: string;
  username: string;
  realm: string;
  uri: string;
  method?: string;
  nc?: string;
  cnonce?: string;
  qop?: string;
  algorithm?: string;
  /** The auts directive (base64), present on a synchronisation failure. */
  auts?: string;
}

export interface DoctorInput {
  nonce: string;
  authorization?: DoctorAuthorization;
  /** Alternatively the raw RES the UE (or a SIM reader) produced. */
  res?: Buffer;
  subscriber: DoctorSubscriber;
}

export interface Diagnosis {
  verdict: DoctorVerdict;
  /** Plain words: what the UE (or network) did, and what to change. */
  explanation: string;
  /** Secondary observations that do not change the verdict. */
  notes: string[];
  details: Record<string, unknown>;
}

interface KeyHypothesis {
  name: 'subscriber keys' | 'op-used-as-opc' | 'opc-used-as-op';
  milenage: Milenage;
}

const AMF_GUESSES = ['0000', '8000', 'ffff'].map((x) => Buffer.from(x, 'hex'));
const hex = (b: Buffer) => b.toString('hex');

function describeSqn(sqn: Buffer): string {
  const { seq, ind } = splitSqn(sqn);
  return `${hex(sqn)} (SEQ ${seq}, IND ${ind})`;
}

function keyHypotheses(s: DoctorSubscriber): KeyHypothesis[] {
  requireLength('K', s.k, 16);
  requireLength('AMF', s.amf, 2);
  if (s.op && s.opc) throw new AkaInputError('OP/OPc', 'give either OP or OPc, not both');
  if (s.op) {
    return [
      { name: 'subscriber keys', milenage: Milenage.withOp(s.k, s.op) },
      // The record holds OP; a UE that takes it for OPc runs Milenage with OPc = OP.
      { name: 'op-used-as-opc', milenage: new Milenage(s.k, s.op) },
    ];
  }
  if (s.opc) {
    return [
      { name: 'subscriber keys', milenage: new Milenage(s.k, s.opc) },
      // The record holds OPc; a UE that takes it for OP derives OPc' = E_K(OPc) ⊕ OPc.
      { name: 'opc-used-as-op', milenage: new Milenage(s.k, computeOpc(s.k, s.opc)) },
    ];
  }
  throw new AkaInputError('OP/OPc', 'one of OP or OPc is required');
}

interface AutnCheck {
  /** The key hypothesis and AMF under which MAC-A verifies, if any. */
  keys?: KeyHypothesis['name'];
  macAmf?: Buffer;
  sqn?: Buffer;
  amfField: Buffer;
}

/** TS 33.102 §6.3.3 replayed for the network side: which keys and AMF produced this AUTN's MAC-A? */
function checkAutn(nonce: AkaNonce, hyps: KeyHypothesis[], subscriberAmf: Buffer): AutnCheck {
  const fields = parseAutn(nonce.autn);
  const amfs = [fields.amf, subscriberAmf, ...AMF_GUESSES].filter((a, i, all) => all.findIndex((b) => b.equals(a)) === i);
  for (const h of hyps) {
    const ak = h.milenage.f5(nonce.rand);
    const sqn = Buffer.allocUnsafe(6);
    for (let i = 0; i < 6; i++) sqn[i] = fields.sqnXorAk[i]! ^ ak[i]!;
    for (const amf of amfs) {
      if (timingSafeEqual(h.milenage.f1(nonce.rand, sqn, amf).macA, fields.macA)) {
        return { keys: h.name, macAmf: amf, sqn, amfField: fields.amf };
      }
    }
  }
  return { amfField: fields.amf };
}

type PasswordKind = 'AKAv1' | 'AKAv2' | 'RES as hex text' | 'RES as HEX text' | 'empty password';

function passwordsFor(m: Milenage, rand: Buffer): Array<[PasswordKind, Buffer]> {
  const { res, ck, ik } = m.f2345(rand);
  return [
    ['AKAv1', akaPassword(1, res)],
    ['AKAv2', akaPassword(2, res, ik, ck)],
    ['RES as hex text', Buffer.from(hex(res), 'ascii')],
    ['RES as HEX text', Buffer.from(hex(res).toUpperCase(), 'ascii')],
    ['empty password', Buffer.alloc(0)],
  ];
}

function swapExplanation(name: 'op-used-as-opc' | 'opc-used-as-op', who: 'UE' | 'network', s: DoctorSubscriber): string {
  if (name === 'op-used-as-opc') {
    return (
      `The ${who} used the OP value ${hex(s.op!)} directly as OPc. Either configure the ${who} with OP (not OPc) = ${hex(s.op!)}, ` +
      `or give it the derived OPc = ${hex(computeOpc(s.k, s.op!))} (OPc = OP xor E_K(OP), TS 35.206 §4.1).`
    );
  }
  return (
    `The ${who} took the OPc value ${hex(s.opc!)} for OP and derived another OPc from it. Configure the ${who} ` +
    `with OPc (not OP) = ${hex(s.opc!)}; SIPp's aka_OP is always OP, so SIPp needs the real OP, not OPc.`
  );
}

export function diagnose(input: DoctorInput): Diagnosis {
  const notes: string[] = [];
  const details: Record<string, unknown> = {};
  const s = input.subscriber;
  let nonce: AkaNonce;
  let hyps: KeyHypothesis[];
  try {
    hyps = keyHypotheses(s);
    nonce = decodeAkaNonce(input.nonce);
  } catch (e) {
    return { verdict: 'bad-input', explanation: (e as Error).message, notes, details };
  }
  details.rand = hex(nonce.rand);
  details.autn = hex(nonce.autn);

  // 1. The challenge itself: was it made from this subscriber's keys, and with which AMF?
  const autn = checkAutn(nonce, hyps, s.amf);
  details.amf_in_autn = hex(autn.amfField);
  details.amf_subscriber = hex(s.amf);
  if (autn.sqn) details.sqn_in_autn = describeSqn(autn.sqn);
  if (autn.macAmf) details.mac_a_verifies_with = { keys: autn.keys, amf: hex(autn.macAmf) };
  if (s.sqnHss) {
    details.sqn_hss = describeSqn(requireLength('sqnHss', s.sqnHss, 6));
    if (autn.sqn && sqnToNumber(autn.sqn) > sqnToNumber(s.sqnHss)) {
      notes.push(`The SQN in AUTN (${describeSqn(autn.sqn)}) is ahead of the HSS's stored SQN: the HSS may not be persisting SQN after generating vectors.`);
    }
  }
  const network = diagnoseNetwork(autn, s);
  if (network) return { ...network, notes, details };
  if (!autn.amfField.equals(s.amf)) {
    notes.push(
      `AUTN carries AMF ${hex(autn.amfField)} but the subscriber record says ${hex(s.amf)}. UEs that check MAC-A with their own configured AMF (SIPp's aka_AMF) reject this challenge.`,
    );
  }
  const correct = hyps[0]!;

  // 2. A synchronisation failure: the auts directive (RFC 3310 §3.4).
  const auth = input.authorization;
  if (auth?.auts !== undefined && auth.auts !== '') {
    return { ...diagnoseAuts(auth.auts, nonce, hyps, autn, s, details), notes, details };
  }

  // 3. A raw RES.
  if (input.res) {
    for (const h of hyps) {
      const { res } = h.milenage.f2345(nonce.rand);
      if (res.equals(input.res)) {
        details.matched = { keys: h.name };
        if (h.name === 'subscriber keys') return { verdict: 'ok', explanation: 'RES matches the subscriber record: the UE computed it correctly.', notes, details };
        return { verdict: h.name, explanation: swapExplanation(h.name, 'UE', s), notes, details };
      }
    }
    details.expected_res = hex(correct.milenage.f2345(nonce.rand).res);
    return { verdict: 'wrong-k-or-op', explanation: wrongKeysText('RES'), notes, details };
  }

  if (!auth) return { verdict: 'bad-input', explanation: 'Give the Authorization parameters the UE sent, or the RES it computed.', notes, details };

  // 4. An empty response: the UE rejected the challenge (TS 33.102 §6.3.3 MAC failure; TS 24.229 §5.1.1.5.3).
  if (auth.response === '') {
    if (!autn.amfField.equals(s.amf)) {
      return {
        verdict: 'wrong-amf',
        explanation:
          `The UE rejected the challenge. MAC-A is right for AMF ${hex(autn.amfField)} (the AMF carried in AUTN), but a UE that checks MAC-A with its own AMF ${hex(s.amf)} ` +
          `(SIPp's aka_AMF does this) fails. Make the HSS and the UE use the same AMF.`,
        notes: [],
        details,
      };
    }
    return {
      verdict: 'mac-failure',
      explanation:
        'The UE rejected the challenge (empty response: MAC failure, TS 33.102 §6.3.3), although MAC-A is right for this subscriber. ' +
        'The UE holds a different K or OP/OPc than the HSS (or treats OP as OPc): compare the keys on both sides.',
      notes,
      details,
    };
  }

  // 5. A digest response: replay the UE's digest under every hypothesis.
  let claimed: 0 | 1 | 2;
  let method: string;
  try {
    const alg = parseAlgorithm(auth.algorithm ?? 'AKAv1-MD5');
    claimed = alg.aka;
    method = auth.method ?? 'REGISTER';
    if (auth.qop !== undefined && auth.qop !== 'auth' && auth.qop !== 'auth-int') throw new AkaInputError('qop', `unsupported qop "${auth.qop}"`);
  } catch (e) {
    return { verdict: 'bad-input', explanation: (e as Error).message, notes, details };
  }
  const hashAlg = auth.algorithm && /-sess$/i.test(auth.algorithm) ? 'MD5-sess' : 'MD5';
  const digest = (password: Buffer): string =>
    computeDigestResponse({
      username: auth.username,
      realm: auth.realm,
      password,
      method,
      uri: auth.uri,
      nonce: input.nonce,
      algorithm: hashAlg,
      ...(auth.qop !== undefined ? { qop: auth.qop as Qop, nc: auth.nc ?? '00000001' } : {}),
      ...(auth.cnonce !== undefined ? { cnonce: auth.cnonce } : {}),
    });
  let computed: string;
  try {
    computed = digest(akaPassword(1, correct.milenage.f2345(nonce.rand).res));
  } catch (e) {
    return { verdict: 'bad-input', explanation: (e as Error).message, notes, details };
  }
  const expectedVersion = claimed === 2 ? 'AKAv2' : 'AKAv1';
  const received = auth.response.toLowerCase();
  for (const h of hyps) {
    for (const [kind, password] of passwordsFor(h.milenage, nonce.rand)) {
      if (digest(password) !== received) continue;
      details.matched = { keys: h.name, password: kind };
      if (h.name !== 'subscriber keys') {
        const extra = kind !== expectedVersion ? ` (It also computed the password as ${kind} while claiming ${auth.algorithm ?? 'AKAv1-MD5'}.)` : '';
        return { verdict: h.name, explanation: swapExplanation(h.name, 'UE', s) + extra, notes, details };
      }
      return { ...passwordVerdict(kind, expectedVersion, auth.algorithm ?? 'AKAv1-MD5'), notes, details };
    }
  }
  details.expected_response = claimed === 2 ? digest(passwordsFor(correct.milenage, nonce.rand)[1]![1]) : computed;
  return { verdict: 'wrong-k-or-op', explanation: wrongKeysText('response'), notes, details };
}

function wrongKeysText(what: 'RES' | 'response'): string {
  return (
    `The ${what} matches none of the hypotheses (subscriber keys, OP/OPc swapped, AKAv1/AKAv2 password, RES as hex text). ` +
    'The UE most likely holds a different K (or a different OP/OPc) than the HSS; for SIPp remember that aka_K and aka_OP are taken as ' +
    'ASCII text (K "0123456789abcdef" is hex 30313233343536373839616263646566). ' +
    (what === 'response' ? 'Otherwise the UE hashed other username/realm/uri values than it sent.' : '')
  ).trim();
}

function passwordVerdict(kind: PasswordKind, expected: 'AKAv1' | 'AKAv2', claimed: string): Omit<Diagnosis, 'notes' | 'details'> {
  if (kind === expected) {
    return { verdict: 'ok', explanation: `The response is right: the UE used the subscriber's keys and the ${expected} password. If the S-CSCF still rejects it, look at the S-CSCF's XRES or the nonce it compares against.` };
  }
  if (kind === 'AKAv1' || kind === 'AKAv2') {
    return {
      verdict: 'wrong-algorithm',
      explanation: `The UE announced ${claimed} but computed the ${kind} password (${kind === 'AKAv1' ? 'RFC 3310: RES as raw octets' : 'RFC 4169: base64 of HMAC-MD5(RES‖IK‖CK)'}). Make the challenge's algorithm and the UE's implementation agree.`,
    };
  }
  if (kind === 'empty password') {
    return {
      verdict: 'sqn-out-of-range',
      explanation:
        'The UE computed its response with an empty password, which RFC 3310 §3.4 prescribes only together with the auts directive: it found the SQN out of range. ' +
        'Pass the auts value the UE sent to see SQN_MS; the HSS must resynchronise from it.',
    };
  }
  return {
    verdict: 'res-as-hex-password',
    explanation: `The UE used the hex text of RES as the password. RFC 3310 §3.3 makes the password RES as raw octets (8 octets for Milenage), not its ${kind === 'RES as hex text' ? 'lowercase' : 'uppercase'} hex string.`,
  };
}

function diagnoseNetwork(autn: AutnCheck, s: DoctorSubscriber): Omit<Diagnosis, 'notes' | 'details'> | undefined {
  if (!autn.keys) {
    return {
      verdict: 'nonce-not-from-subscriber',
      explanation:
        "MAC-A in the nonce's AUTN does not verify with the K and OP/OPc you gave (nor with OP/OPc swapped, nor with AMF 0000/8000/ffff). " +
        'Either the HSS holds other keys for this user than the ones given here, or the nonce was altered on the way (check that it is copied exactly).',
    };
  }
  if (autn.keys !== 'subscriber keys') {
    return { verdict: autn.keys, explanation: `The challenge itself was made that way: ${swapExplanation(autn.keys, 'network', s)}` };
  }
  if (autn.macAmf && !autn.macAmf.equals(autn.amfField)) {
    return {
      verdict: 'wrong-amf',
      explanation:
        `The network computed MAC-A with AMF ${hex(autn.macAmf)} but put AMF ${hex(autn.amfField)} into AUTN (TS 33.102 §6.3.2 requires the same AMF in both). ` +
        'Every conforming UE rejects this challenge with a MAC failure; fix the HSS so that it uses one AMF.',
    };
  }
  return undefined;
}

function diagnoseAuts(
  autsText: string,
  nonce: AkaNonce,
  hyps: KeyHypothesis[],
  autn: AutnCheck,
  s: DoctorSubscriber,
  details: Record<string, unknown>,
): Omit<Diagnosis, 'notes' | 'details'> {
  let auts: Buffer;
  try {
    auts = decodeAuts(autsText);
  } catch (e) {
    return { verdict: 'bad-input', explanation: (e as Error).message };
  }
  for (const h of hyps) {
    const r = resynchronise({ k: s.k, opc: h.milenage.opc, rand: nonce.rand, auts, milenage: h.milenage });
    if (!r.valid) continue;
    details.sqn_ms = describeSqn(r.sqnMs);
    if (h.name !== 'subscriber keys') return { verdict: h.name, explanation: swapExplanation(h.name, 'UE', s) };
    const sent = autn.sqn ? describeSqn(autn.sqn) : 'the SQN in AUTN';
    return {
      verdict: 'sqn-out-of-range',
      explanation:
        `The UE accepted the MAC but found ${sent} not fresh (TS 33.102 Annex C: not above its SEQ_MS for that IND, or too far ahead). ` +
        `Its highest accepted SQN is SQN_MS = ${describeSqn(r.sqnMs)}. The S-CSCF must send RAND‖AUTS to the HSS in a new MAR, and the HSS must ` +
        'set its SQN to SQN_MS so that the next vector is above it (TS 33.102 §6.3.5). An HSS that ignores AUTS causes an endless 401 loop.' +
        (s.sqnHss ? ` The HSS holds ${describeSqn(s.sqnHss)}.` : ''),
    };
  }
  return {
    verdict: 'wrong-k-or-op',
    explanation: 'The auts directive does not verify (MAC-S with AMF 0000) for this subscriber: the UE holds a different K or OP/OPc, or the RAND is not the one it answered.',
  };
}
