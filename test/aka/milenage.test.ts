import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Milenage, computeOpc, f1, f1star, f2345, f5star } from '../../src/aka/milenage.js';
import { generateVector, parseAutn } from '../../src/aka/vector.js';
import { AkaInputError } from '../../src/aka/bytes.js';
import { vectorPath } from '../helpers/vectors.js';

interface MilenageSet {
  id: string;
  K: string;
  RAND: string;
  SQN: string;
  AMF: string;
  OP: string;
  OPc: string;
  f1_MAC_A: string;
  f1star_MAC_S: string;
  f2_RES: string;
  f3_CK: string;
  f4_IK: string;
  f5_AK: string;
  f5star_AK_resync: string;
  derived_AUTN: string;
}

const shared = JSON.parse(readFileSync(vectorPath('milenage.json'), 'utf8')) as {
  sets: MilenageSet[];
  extra_examples: Array<Record<string, string>>;
};
const h = (s: string) => Buffer.from(s, 'hex');
const hex = (b: Buffer) => b.toString('hex');

describe('MILENAGE (TS 35.206) against every published set', () => {
  it('has the ten sets to check', () => {
    expect(shared.sets.length).toBe(10);
  });

  for (const s of shared.sets) {
    it(`${s.id}: OPc, f1, f1*, f2, f3, f4, f5, f5* and AUTN`, () => {
      const opc = computeOpc(h(s.K), h(s.OP));
      expect(hex(opc)).toBe(s.OPc);
      expect(hex(f1(h(s.K), opc, h(s.RAND), h(s.SQN), h(s.AMF)).macA)).toBe(s.f1_MAC_A);
      expect(hex(f1star(h(s.K), opc, h(s.RAND), h(s.SQN), h(s.AMF)).macS)).toBe(s.f1star_MAC_S);
      const out = f2345(h(s.K), opc, h(s.RAND));
      expect(hex(out.res)).toBe(s.f2_RES);
      expect(hex(out.ck)).toBe(s.f3_CK);
      expect(hex(out.ik)).toBe(s.f4_IK);
      expect(hex(out.ak)).toBe(s.f5_AK);
      expect(hex(f5star(h(s.K), opc, h(s.RAND)))).toBe(s.f5star_AK_resync);

      const parts = new Milenage(h(s.K), opc).vector(h(s.RAND), h(s.SQN), h(s.AMF));
      expect([parts.macA, parts.res, parts.ck, parts.ik, parts.ak].map(hex)).toEqual([s.f1_MAC_A, s.f2_RES, s.f3_CK, s.f4_IK, s.f5_AK]);

      const v = generateVector({ k: h(s.K), opc, sqn: h(s.SQN), amf: h(s.AMF), rand: h(s.RAND) });
      expect(hex(v.autn)).toBe(s.derived_AUTN);
      expect(hex(v.xres)).toBe(s.f2_RES);
      expect(hex(v.ck)).toBe(s.f3_CK);
      expect(hex(v.ik)).toBe(s.f4_IK);
      expect(hex(v.rand)).toBe(s.RAND);
    });
  }

  it('a bound Milenage gives the same answers when reused across subscribers\' RANDs', () => {
    const [a, b] = [shared.sets[0]!, shared.sets[2]!];
    const m = Milenage.withOp(h(a.K), h(a.OP));
    // Interleave calls: one cipher object reused must not carry state between blocks.
    expect(hex(m.f2345(h(a.RAND)).res)).toBe(a.f2_RES);
    expect(hex(m.f1Both(h(a.RAND), h(a.SQN), h(a.AMF)).macS)).toBe(a.f1star_MAC_S);
    expect(hex(m.f2345(h(b.RAND)).res)).not.toBe(a.f2_RES);
    expect(hex(m.f5star(h(a.RAND)))).toBe(a.f5star_AK_resync);
    expect(hex(m.f5(h(a.RAND)))).toBe(a.f5_AK);
  });

  it('the wmnsk example: OPc, vector, AUTN', () => {
    const x = shared.extra_examples.find((e) => e.id === 'wmnsk-normal')!;
    const opc = computeOpc(h(x.K!), h(x.OP!));
    expect(hex(opc)).toBe(x.OPc);
    const v = generateVector({ k: h(x.K!), opc, sqn: 1n, amf: h(x.AMF!), rand: h(x.RAND!) });
    expect(hex(v.autn)).toBe(x.AUTN);
    expect(hex(v.xres)).toBe(x.f2_RES);
    expect(hex(parseAutn(v.autn).amf)).toBe('8000');
    expect(hex(f5star(h(x.K!), opc, h(x.RAND!)))).toBe(x.f5star_AK_resync);
  });

  it('a SQN given as number, bigint or Buffer gives the same AUTN', () => {
    const s = shared.sets[0]!;
    const base = { k: h(s.K), opc: h(s.OPc), amf: h(s.AMF), rand: h(s.RAND) };
    const n = parseInt(s.SQN, 16);
    expect(hex(generateVector({ ...base, sqn: n }).autn)).toBe(s.derived_AUTN);
    expect(hex(generateVector({ ...base, sqn: BigInt('0x' + s.SQN) }).autn)).toBe(s.derived_AUTN);
  });

  it('rejects wrong lengths with an error naming the field', () => {
    const s = shared.sets[0]!;
    expect(() => computeOpc(h(s.K).subarray(0, 15), h(s.OP))).toThrow(/^K: expected 16 octets/);
    expect(() => f2345(h(s.K), h(s.OPc), h('00'))).toThrow(AkaInputError);
    expect(() => f1(h(s.K), h(s.OPc), h(s.RAND), h('0001'), h(s.AMF))).toThrow(/SQN/);
    expect(() => generateVector({ k: h(s.K), opc: h(s.OPc), sqn: 2n ** 48n, amf: h(s.AMF), rand: h(s.RAND) })).toThrow(/SQN/);
    expect(() => generateVector({ k: h(s.K), opc: h(s.OPc), sqn: 0, amf: h('800000'), rand: h(s.RAND) })).toThrow(/AMF/);
  });
});
