import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Usim } from '../../src/aka/usim.js';
import { generateVector } from '../../src/aka/vector.js';
import { computeAuts, resynchronise, splitResyncAuthorization } from '../../src/aka/resync.js';
import { SqnTracker, joinSqn, nextSqn, splitSqn, sqnAfterResync, sqnToNumber } from '../../src/aka/sqn.js';
import { computeOpc } from '../../src/aka/milenage.js';
import { SeededRandom } from '../../src/util/random.js';
import { vectorPath } from '../helpers/vectors.js';

const shared = JSON.parse(readFileSync(vectorPath('milenage.json'), 'utf8')) as {
  extra_examples: Array<Record<string, string>>;
};
const h = (s: string) => Buffer.from(s, 'hex');
const K = h('465b5ce8b199b49faa5f0a2ee238a6bc');
const OP = h('cdc202d5123e20f62b6d676ac72cb318');
const OPC = computeOpc(K, OP);
const AMF = h('8000');

describe('AUTS and resynchronisation (TS 33.102 §6.3.3, §6.3.5)', () => {
  it('reproduces the published AUTS example and recovers SQN_MS from it', () => {
    const x = shared.extra_examples.find((e) => e.id === 'wmnsk-normal')!;
    const opc = h(x.OPc!);
    const auts = computeAuts({ k: h(x.K!), opc, rand: h(x.RAND!), sqnMs: h('000000000001') });
    expect(auts.toString('hex')).toBe(x.AUTS_for_SQN_MS_000000000001);
    expect(auts.subarray(6).toString('hex')).toBe(x.MAC_S_with_AMF_0000);
    const r = resynchronise({ k: h(x.K!), opc, rand: h(x.RAND!), auts });
    expect(r).toEqual({ valid: true, sqnMs: h('000000000001') });
  });

  it('a flipped bit in MAC-S or another RAND makes the AUTS invalid', () => {
    const rand = new SeededRandom(1).bytes(16);
    const auts = computeAuts({ k: K, opc: OPC, rand, sqnMs: h('0000000004a1') });
    const bad = Buffer.from(auts);
    bad[13] = bad[13]! ^ 1;
    expect(resynchronise({ k: K, opc: OPC, rand, auts: bad }).valid).toBe(false);
    expect(resynchronise({ k: K, opc: OPC, rand: Buffer.alloc(16), auts }).valid).toBe(false);
    expect(() => resynchronise({ k: K, opc: OPC, rand, auts: auts.subarray(0, 13) })).toThrow(/^AUTS/);
    const sa = splitResyncAuthorization(Buffer.concat([rand, auts]));
    expect(sa.auts.equals(auts) && sa.rand.equals(rand)).toBe(true);
  });
});

describe('UE/HSS round trip', () => {
  const random = new SeededRandom('usim');

  it('the USIM accepts a fresh vector and returns the network\'s XRES, CK, IK', () => {
    const usim = new Usim({ k: K, op: OP });
    const sqn = nextSqn(joinSqn(0, 0));
    const v = generateVector({ k: K, opc: OPC, sqn, amf: AMF, rand: random.bytes(16) });
    const r = usim.authenticate(v.rand, v.autn);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.res.equals(v.xres)).toBe(true);
    expect(r.ck.equals(v.ck)).toBe(true);
    expect(r.ik.equals(v.ik)).toBe(true);
    expect(r.sqn.equals(sqn)).toBe(true);
    expect(usim.sqnState().seqMs[1]).toBe(1);
    // The same vector again is a replay: sync failure, state unchanged.
    const again = usim.authenticate(v.rand, v.autn);
    expect(again).toMatchObject({ ok: false, cause: 'sync-failure' });
    expect(usim.sqnState().seqMs[1]).toBe(1);
  });

  it('USIM ahead of the HSS: AUTS → resync recovers SQN_MS → the next vector is accepted', () => {
    const usimSqn = joinSqn(5000, 7);
    const usim = new Usim({ k: K, opc: OPC, sqnState: { indBits: 5, seqMs: Object.assign(new Array<number>(32).fill(4990), { 7: 5000 }) } });
    expect(sqnToNumber(usim.sqn.highestSqn())).toBe(sqnToNumber(usimSqn));

    let hssSqn = nextSqn(joinSqn(10, 3)); // HSS far behind
    const v = generateVector({ k: K, opc: OPC, sqn: hssSqn, amf: AMF, rand: random.bytes(16) });
    const r = usim.authenticate(v.rand, v.autn);
    expect(r.ok).toBe(false);
    if (r.ok || r.cause !== 'sync-failure') throw new Error('expected a sync failure');
    expect(r.auts.length).toBe(14);
    expect(r.sqnMs.equals(usimSqn)).toBe(true);

    const resync = resynchronise({ k: K, opc: OPC, rand: v.rand, auts: r.auts });
    expect(resync.valid).toBe(true);
    expect(resync.sqnMs.equals(usimSqn)).toBe(true);

    hssSqn = nextSqn(sqnAfterResync(resync.sqnMs));
    expect(splitSqn(hssSqn)).toEqual({ seq: 5001, ind: 8 });
    const v2 = generateVector({ k: K, opc: OPC, sqn: hssSqn, amf: AMF, rand: random.bytes(16) });
    const r2 = usim.authenticate(v2.rand, v2.autn);
    expect(r2.ok).toBe(true);
  });

  it('a tampered MAC or a vector for another K is a MAC failure and changes nothing', () => {
    const usim = new Usim({ k: K, opc: OPC });
    const before = JSON.stringify(usim.sqnState());
    const v = generateVector({ k: K, opc: OPC, sqn: joinSqn(1, 0), amf: AMF, rand: random.bytes(16) });
    const tampered = Buffer.from(v.autn);
    tampered[15] = tampered[15]! ^ 0x80;
    expect(usim.authenticate(v.rand, tampered)).toEqual({ ok: false, cause: 'mac-failure' });
    const other = generateVector({ k: Buffer.alloc(16, 7), opc: OPC, sqn: joinSqn(1, 0), amf: AMF, rand: v.rand });
    expect(usim.authenticate(other.rand, other.autn)).toEqual({ ok: false, cause: 'mac-failure' });
    expect(JSON.stringify(usim.sqnState())).toBe(before);
  });

  it('a USIM pinned to an AMF (as SIPp is) rejects vectors made with another AMF', () => {
    const pinned = new Usim({ k: K, opc: OPC, amf: h('0000') });
    const v = generateVector({ k: K, opc: OPC, sqn: joinSqn(1, 0), amf: AMF, rand: random.bytes(16) });
    expect(pinned.authenticate(v.rand, v.autn)).toEqual({ ok: false, cause: 'mac-failure' });
    expect(new Usim({ k: K, opc: OPC, amf: AMF }).authenticate(v.rand, v.autn).ok).toBe(true);
  });

  it('refuses bad construction input', () => {
    expect(() => new Usim({ k: K })).toThrow(/OP\/OPc/);
    expect(() => new Usim({ k: K, op: OP, opc: OPC })).toThrow(/either/);
    expect(() => new Usim({ k: K.subarray(1), op: OP })).toThrow(/^K:/);
    expect(() => new Usim({ k: K, op: OP, sqnState: { indBits: 5, seqMs: [1, 2] } })).toThrow(/seqMs/);
  });
});

describe('SQN freshness (TS 33.102 Annex C)', () => {
  it('SQN = SEQ ‖ IND and nextSqn increments SEQ and cycles IND', () => {
    expect(splitSqn(h('000000000021'))).toEqual({ seq: 1, ind: 1 });
    expect(splitSqn(nextSqn(h('00000000003f')))).toEqual({ seq: 2, ind: 0 });
    expect(splitSqn(nextSqn(h('000000000021'), { cycleInd: false }))).toEqual({ seq: 2, ind: 1 });
    expect(splitSqn(nextSqn(0n, { indBits: 0 }), 0)).toEqual({ seq: 1, ind: 0 });
    expect(() => nextSqn(h('ffffffffffff'))).toThrow(/exhausted/);
  });

  it('accepts out-of-order SEQs in different IND slots, refuses replays per slot', () => {
    // C.2.2: a lower SEQ is still fresh in a slot that has not seen it; only L (below) bounds its age.
    const t = new SqnTracker();
    t.accept(joinSqn(10, 2));
    expect(t.check(joinSqn(9, 3))).toEqual({ fresh: true });
    expect(t.check(joinSqn(10, 2))).toMatchObject({ fresh: false, reason: 'replayed' });
    expect(t.check(joinSqn(11, 2))).toEqual({ fresh: true });
  });

  it('Δ protects against wrap-around; L optionally limits age', () => {
    const t = new SqnTracker({ delta: 100, limit: 5 });
    t.accept(joinSqn(50, 0));
    expect(t.check(joinSqn(150, 1))).toEqual({ fresh: true });
    expect(t.check(joinSqn(151, 1))).toMatchObject({ fresh: false, reason: 'beyond-delta', seqMsHighest: 50 });
    expect(t.check(joinSqn(46, 1))).toEqual({ fresh: true });
    expect(t.check(joinSqn(45, 1))).toMatchObject({ fresh: false, reason: 'too-old' });
    const restored = new SqnTracker({ state: JSON.parse(JSON.stringify(t)) });
    expect(restored.highestSeq()).toBe(50);
    expect(restored.check(joinSqn(50, 0))).toMatchObject({ fresh: false, reason: 'replayed' });
  });
});
