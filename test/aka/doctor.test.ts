import { describe, expect, it } from 'vitest';
import { diagnose, type DoctorAuthorization, type DoctorSubscriber } from '../../src/aka/doctor.js';
import { Milenage, computeOpc } from '../../src/aka/milenage.js';
import { Usim } from '../../src/aka/usim.js';
import { buildAutn, generateVector } from '../../src/aka/vector.js';
import { joinSqn } from '../../src/aka/sqn.js';
import { akaPassword, computeDigestResponse, encodeAkaNonce, encodeAuts } from '../../src/sip/auth/digest.js';
import { SeededRandom } from '../../src/util/random.js';

const h = (s: string) => Buffer.from(s, 'hex');
const K = h('0396eb317b6d1c36f19c1c84cd6ffd16');
const OP = h('ff53bade17df5d4e793073ce9d7579fa');
const OPC = computeOpc(K, OP);
const AMF = h('8000');
const random = new SeededRandom('doctor');

const ue = {
  username: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
  realm: 'ims.mnc001.mcc001.3gppnetwork.org',
  uri: 'sip:ims.mnc001.mcc001.3gppnetwork.org',
  method: 'REGISTER',
  nc: '00000001',
  cnonce: 'a1b2c3d4',
  qop: 'auth' as const,
};

/** The network's challenge for the subscriber record (K, OP, AMF 8000). */
function challenge(sqn = joinSqn(100, 3), amf = AMF) {
  const v = generateVector({ k: K, opc: OPC, sqn, amf, rand: random.bytes(16) });
  return { v, nonce: encodeAkaNonce(v) };
}

/** What a UE holding (k, opc) answers, password per AKA version or a given kind. */
function answer(nonce: string, rand: Buffer, keys: { k: Buffer; opc: Buffer }, password: 'v1' | 'v2' | 'hex' = 'v1', algorithm = 'AKAv1-MD5'): DoctorAuthorization {
  const { res, ck, ik } = new Milenage(keys.k, keys.opc).f2345(rand);
  const pw = password === 'v1' ? akaPassword(1, res) : password === 'v2' ? akaPassword(2, res, ik, ck) : Buffer.from(res.toString('hex'));
  return { ...ue, algorithm, response: computeDigestResponse({ ...ue, nonce, password: pw, algorithm }) };
}

const subscriber: DoctorSubscriber = { k: K, op: OP, amf: AMF };

describe('AKA doctor', () => {
  it('a correct answer is ok', () => {
    const { v, nonce } = challenge();
    const d = diagnose({ nonce, authorization: answer(nonce, v.rand, { k: K, opc: OPC }), subscriber });
    expect(d.verdict).toBe('ok');
    expect(d.details.matched).toEqual({ keys: 'subscriber keys', password: 'AKAv1' });
    expect(d.details.sqn_in_autn).toBe(`${joinSqn(100, 3).toString('hex')} (SEQ 100, IND 3)`);
  });

  it('OP used as OPc by the UE', () => {
    const { v, nonce } = challenge();
    const d = diagnose({ nonce, authorization: answer(nonce, v.rand, { k: K, opc: OP }), subscriber });
    expect(d.verdict).toBe('op-used-as-opc');
    expect(d.explanation).toContain(OPC.toString('hex'));
  });

  it('OPc used as OP by the UE (record holds OPc)', () => {
    const { v, nonce } = challenge();
    const d = diagnose({ nonce, authorization: answer(nonce, v.rand, { k: K, opc: computeOpc(K, OPC) }), subscriber: { k: K, opc: OPC, amf: AMF } });
    expect(d.verdict).toBe('opc-used-as-op');
  });

  it('another K', () => {
    const { v, nonce } = challenge();
    const otherK = Buffer.from(K);
    otherK[0] = otherK[0]! ^ 1;
    const d = diagnose({ nonce, authorization: answer(nonce, v.rand, { k: otherK, opc: OPC }), subscriber });
    expect(d.verdict).toBe('wrong-k-or-op');
    expect(typeof d.details.expected_response).toBe('string');
    // The same with a raw RES.
    const res = new Milenage(otherK, OPC).f2345(v.rand).res;
    expect(diagnose({ nonce, res, subscriber }).verdict).toBe('wrong-k-or-op');
    expect(diagnose({ nonce, res: v.xres, subscriber }).verdict).toBe('ok');
  });

  it('another AMF: a UE pinned to the record\'s AMF rejects a challenge made with AMF 0000', () => {
    const { v, nonce } = challenge(joinSqn(100, 3), h('0000'));
    const usim = new Usim({ k: K, op: OP, amf: AMF });
    expect(usim.authenticate(v.rand, v.autn)).toEqual({ ok: false, cause: 'mac-failure' });
    const d = diagnose({ nonce, authorization: { ...ue, response: '' }, subscriber });
    expect(d.verdict).toBe('wrong-amf');
    expect(d.explanation).toMatch(/AMF 0000.*AMF 8000/s);
  });

  it('another AMF on the network side: MAC-A computed with AMF 0000, AUTN says 8000', () => {
    const rand = random.bytes(16);
    const m = new Milenage(K, OPC);
    const sqn = joinSqn(7, 0);
    const autn = buildAutn(sqn, m.f5(rand), AMF, m.f1(rand, sqn, h('0000')).macA);
    const nonce = encodeAkaNonce({ rand, autn });
    expect(new Usim({ k: K, opc: OPC }).authenticate(rand, autn)).toEqual({ ok: false, cause: 'mac-failure' });
    const d = diagnose({ nonce, authorization: { ...ue, response: '' }, subscriber });
    expect(d.verdict).toBe('wrong-amf');
    expect(d.details.mac_a_verifies_with).toEqual({ keys: 'subscriber keys', amf: '0000' });
  });

  it('SQN out of range: the USIM answers auts, the doctor recovers SQN_MS', () => {
    const usim = new Usim({ k: K, op: OP, sqnState: { indBits: 5, seqMs: new Array<number>(32).fill(9000) } });
    const { v, nonce } = challenge(joinSqn(100, 3));
    const r = usim.authenticate(v.rand, v.autn);
    if (r.ok || r.cause !== 'sync-failure') throw new Error('expected a sync failure');
    const response = computeDigestResponse({ ...ue, nonce, password: '', algorithm: 'AKAv1-MD5' });
    const d = diagnose({ nonce, authorization: { ...ue, response, auts: encodeAuts(r.auts) }, subscriber: { ...subscriber, sqnHss: joinSqn(100, 3) } });
    expect(d.verdict).toBe('sqn-out-of-range');
    expect(d.details.sqn_ms).toBe(`${joinSqn(9000, 0).toString('hex')} (SEQ 9000, IND 0)`);
    expect(d.explanation).toContain('SEQ 9000');
    // Without the auts directive, the empty password still gives it away.
    expect(diagnose({ nonce, authorization: { ...ue, response }, subscriber }).verdict).toBe('sqn-out-of-range');
  });

  it('AKAv2 password while announcing AKAv1, and RES as hex text', () => {
    const { v, nonce } = challenge();
    const v2 = answer(nonce, v.rand, { k: K, opc: OPC }, 'v2', 'AKAv1-MD5');
    expect(diagnose({ nonce, authorization: v2, subscriber }).verdict).toBe('wrong-algorithm');
    const good2 = answer(nonce, v.rand, { k: K, opc: OPC }, 'v2', 'AKAv2-MD5');
    expect(diagnose({ nonce, authorization: good2, subscriber }).verdict).toBe('ok');
    const hexPw = answer(nonce, v.rand, { k: K, opc: OPC }, 'hex');
    expect(diagnose({ nonce, authorization: hexPw, subscriber }).verdict).toBe('res-as-hex-password');
  });

  it('a nonce not made from these keys, and bad input, are named', () => {
    const v = generateVector({ k: Buffer.alloc(16, 9), opc: OPC, sqn: 1, amf: AMF, rand: random.bytes(16) });
    const nonce = encodeAkaNonce(v);
    expect(diagnose({ nonce, res: v.xres, subscriber }).verdict).toBe('nonce-not-from-subscriber');
    expect(diagnose({ nonce: 'AAAA', res: v.xres, subscriber })).toMatchObject({ verdict: 'bad-input', explanation: expect.stringMatching(/32 octets/) });
    expect(diagnose({ nonce, res: v.xres, subscriber: { k: K, amf: AMF } }).verdict).toBe('bad-input');
    const { nonce: n2 } = challenge();
    expect(diagnose({ nonce: n2, authorization: { ...ue, response: 'ab', auts: '!!' }, subscriber }).verdict).toBe('bad-input');
  });
});
