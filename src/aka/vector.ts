import { requireLength } from './bytes.js';
import { Milenage } from './milenage.js';
import { sqnToBuffer, type SqnInput } from './sqn.js';

/**
 * An authentication vector (quintet) as the HSS hands it to the S-CSCF in a MAA (TS 33.102 §6.3.2,
 * TS 29.228 SIP-Auth-Data-Item): RAND, XRES, CK, IK, AUTN.
 */
export interface AuthenticationVector {
  rand: Buffer;
  xres: Buffer;
  ck: Buffer;
  ik: Buffer;
  autn: Buffer;
}

export interface GenerateVectorInput {
  k: Buffer;
  opc: Buffer;
  sqn: SqnInput;
  amf: Buffer;
  rand: Buffer;
  /** A Milenage already bound to (k, opc): saves the key schedule when many vectors are made for one subscriber. */
  milenage?: Milenage;
}

/** TS 33.102 §6.3.2: AUTN = (SQN ⊕ AK) ‖ AMF ‖ MAC-A, MAC-A = f1_K(SQN ‖ RAND ‖ AMF), XRES = f2, CK = f3, IK = f4, AK = f5. */
export function generateVector(input: GenerateVectorInput): AuthenticationVector {
  const sqn = sqnToBuffer(input.sqn);
  requireLength('AMF', input.amf, 2);
  requireLength('RAND', input.rand, 16);
  const m = input.milenage ?? new Milenage(input.k, input.opc);
  const { res, ck, ik, ak, macA } = m.vector(input.rand, sqn, input.amf);
  return { rand: Buffer.from(input.rand), xres: res, ck, ik, autn: buildAutn(sqn, ak, input.amf, macA) };
}

export function buildAutn(sqn: Buffer, ak: Buffer, amf: Buffer, macA: Buffer): Buffer {
  const autn = Buffer.allocUnsafe(16);
  for (let i = 0; i < 6; i++) autn[i] = sqn[i]! ^ ak[i]!;
  amf.copy(autn, 6);
  macA.copy(autn, 8);
  return autn;
}

/** The three fields of AUTN; SQN stays concealed until AK is known. */
export interface AutnFields {
  sqnXorAk: Buffer;
  amf: Buffer;
  macA: Buffer;
}

export function parseAutn(autn: Buffer): AutnFields {
  requireLength('AUTN', autn, 16);
  return { sqnXorAk: autn.subarray(0, 6), amf: autn.subarray(6, 8), macA: autn.subarray(8, 16) };
}
