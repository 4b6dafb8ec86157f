import { createCipheriv, type Cipher } from 'node:crypto';
import { requireLength, xor } from './bytes.js';

/**
 * MILENAGE, the 3GPP example algorithm set for f1, f1*, f2, f3, f4, f5 and f5* (TS 35.206 §4.1),
 * built on the block cipher E_K = AES-128 (TS 35.206 §3 allows any 128-bit cipher; Rijndael/AES is the one specified).
 *
 *   OPc  = OP ⊕ E_K(OP)
 *   TEMP = E_K(RAND ⊕ OPc)
 *   IN1  = SQN ‖ AMF ‖ SQN ‖ AMF
 *   OUT1 = E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1) ⊕ c1) ⊕ OPc       f1 = OUT1[0..63], f1* = OUT1[64..127]
 *   OUTi = E_K(rot(TEMP ⊕ OPc, ri) ⊕ ci) ⊕ OPc, i = 2..5    f5 = OUT2[0..47], f2 = OUT2[64..127],
 *                                                          f3 = OUT3, f4 = OUT4, f5* = OUT5[0..47]
 * with r1..r5 = 64, 0, 32, 64, 96 bits and c1..c5 = 0, 1, 2, 4, 8 (in the last octet) — the TS 35.206 §4.1 defaults.
 */

export interface F1Output {
  /** MAC-A, the network authentication code carried in AUTN (TS 33.102 §6.3.2). */
  macA: Buffer;
}
export interface F1StarOutput {
  /** MAC-S, the resynchronisation authentication code carried in AUTS (TS 33.102 §6.3.3). */
  macS: Buffer;
}
export interface F2345Output {
  /** RES / XRES, 64 bits. */
  res: Buffer;
  /** CK, 128 bits. */
  ck: Buffer;
  /** IK, 128 bits. */
  ik: Buffer;
  /** AK, 48 bits: conceals SQN in AUTN. */
  ak: Buffer;
}

/** Rotation amounts in octets (TS 35.206 §4.1: r1..r5 are all multiples of 8 bits). */
const R1 = 8, R2 = 0, R3 = 4, R4 = 8, R5 = 12;
const C2 = 0x01, C3 = 0x02, C4 = 0x04, C5 = 0x08;

/** MILENAGE bound to one subscriber's K and OPc: one AES key schedule reused for every call. */
export class Milenage {
  readonly k: Buffer;
  readonly opc: Buffer;
  private readonly cipher: Cipher;

  constructor(k: Buffer, opc: Buffer) {
    this.k = requireLength('K', k, 16);
    this.opc = requireLength('OPc', opc, 16);
    this.cipher = aes128(k);
  }

  /** For a subscriber provisioned with the operator variant OP rather than OPc (TS 35.206 §4.1). */
  static withOp(k: Buffer, op: Buffer): Milenage {
    return new Milenage(k, computeOpc(k, op));
  }

  /** f1 and f1* share OUT1; computing both at once costs one block encryption fewer. */
  f1Both(rand: Buffer, sqn: Buffer, amf: Buffer): { macA: Buffer; macS: Buffer } {
    requireLength('RAND', rand, 16);
    requireLength('SQN', sqn, 6);
    requireLength('AMF', amf, 2);
    const temp = this.temp(rand);
    const in1 = Buffer.allocUnsafe(16);
    sqn.copy(in1, 0);
    amf.copy(in1, 6);
    sqn.copy(in1, 8);
    amf.copy(in1, 14);
    // rot(IN1 ⊕ OPc, r1) ⊕ TEMP, c1 = 0
    const block = Buffer.allocUnsafe(16);
    for (let i = 0; i < 16; i++) {
      const j = (i + R1) & 15;
      block[i] = in1[j]! ^ this.opc[j]! ^ temp[i]!;
    }
    const out1 = xor(this.encrypt(block), this.opc);
    return { macA: out1.subarray(0, 8), macS: out1.subarray(8, 16) };
  }

  /**
   * f1 (MAC-A) and f2, f3, f4, f5 of one authentication vector (TS 33.102 §6.3.2) with two calls into the cipher
   * instead of six: TEMP first, then OUT1..OUT4 as four blocks of one ECB call (the four depend on TEMP only and
   * ECB enciphers each block on its own). The outputs are views of one 64-octet buffer.
   */
  vector(rand: Buffer, sqn: Buffer, amf: Buffer): F1Output & F2345Output {
    requireLength('RAND', rand, 16);
    requireLength('SQN', sqn, 6);
    requireLength('AMF', amf, 2);
    const opc = this.opc;
    const temp = this.temp(rand);
    const blocks = Buffer.allocUnsafe(64);
    for (let i = 0; i < 16; i++) {
      // OUT1: rot(IN1 ⊕ OPc, r1) ⊕ TEMP ⊕ c1 with IN1 = SQN ‖ AMF ‖ SQN ‖ AMF; c1 = 0.
      const j = (i + R1) & 15;
      const in1 = (j & 7) < 6 ? sqn[j & 7]! : amf[(j & 7) - 6]!;
      blocks[i] = in1 ^ opc[j]! ^ temp[i]!;
      // OUT2..OUT4: rot(TEMP ⊕ OPc, ri) ⊕ ci.
      blocks[16 + i] = temp[(i + R2) & 15]! ^ opc[(i + R2) & 15]!;
      blocks[32 + i] = temp[(i + R3) & 15]! ^ opc[(i + R3) & 15]!;
      blocks[48 + i] = temp[(i + R4) & 15]! ^ opc[(i + R4) & 15]!;
    }
    blocks[31] = blocks[31]! ^ C2;
    blocks[47] = blocks[47]! ^ C3;
    blocks[63] = blocks[63]! ^ C4;
    const out = this.encrypt(blocks);
    for (let i = 0; i < 64; i++) out[i] = out[i]! ^ opc[i & 15]!;
    return {
      macA: out.subarray(0, 8),
      ak: out.subarray(16, 22),
      res: out.subarray(24, 32),
      ck: out.subarray(32, 48),
      ik: out.subarray(48, 64),
    };
  }

  f1(rand: Buffer, sqn: Buffer, amf: Buffer): F1Output {
    return { macA: this.f1Both(rand, sqn, amf).macA };
  }

  f1star(rand: Buffer, sqn: Buffer, amf: Buffer): F1StarOutput {
    return { macS: this.f1Both(rand, sqn, amf).macS };
  }

  f2345(rand: Buffer): F2345Output {
    requireLength('RAND', rand, 16);
    const base = xor(this.temp(rand), this.opc); // TEMP ⊕ OPc, shared by OUT2..OUT5
    const out2 = this.out(base, R2, C2);
    return {
      ak: out2.subarray(0, 6),
      res: out2.subarray(8, 16),
      ck: this.out(base, R3, C3),
      ik: this.out(base, R4, C4),
    };
  }

  f5star(rand: Buffer): Buffer {
    requireLength('RAND', rand, 16);
    const base = xor(this.temp(rand), this.opc);
    return this.out(base, R5, C5).subarray(0, 6);
  }

  /** f5 alone: what a USIM needs first, to unmask SQN before checking the MAC (TS 33.102 §6.3.3). */
  f5(rand: Buffer): Buffer {
    return this.f2345(rand).ak;
  }

  private temp(rand: Buffer): Buffer {
    return this.encrypt(xor(rand, this.opc));
  }

  private out(base: Buffer, rotOctets: number, c: number): Buffer {
    const block = Buffer.allocUnsafe(16);
    for (let i = 0; i < 16; i++) block[i] = base[(i + rotOctets) & 15]!;
    block[15] = block[15]! ^ c;
    return xor(this.encrypt(block), this.opc);
  }

  private encrypt(block: Buffer): Buffer {
    return this.cipher.update(block);
  }
}

function aes128(k: Buffer): Cipher {
  // ECB on whole blocks only: update() returns every 16-octet block it is given at once, no padding, no final().
  const cipher = createCipheriv('aes-128-ecb', k, null);
  cipher.setAutoPadding(false);
  return cipher;
}

/** OPc = OP ⊕ E_K(OP) (TS 35.206 §4.1). */
export function computeOpc(k: Buffer, op: Buffer): Buffer {
  requireLength('K', k, 16);
  requireLength('OP', op, 16);
  return xor(aes128(k).update(op), op);
}

export function f1(k: Buffer, opc: Buffer, rand: Buffer, sqn: Buffer, amf: Buffer): F1Output {
  return new Milenage(k, opc).f1(rand, sqn, amf);
}

export function f1star(k: Buffer, opc: Buffer, rand: Buffer, sqn: Buffer, amf: Buffer): F1StarOutput {
  return new Milenage(k, opc).f1star(rand, sqn, amf);
}

export function f2345(k: Buffer, opc: Buffer, rand: Buffer): F2345Output {
  return new Milenage(k, opc).f2345(rand);
}

export function f5star(k: Buffer, opc: Buffer, rand: Buffer): Buffer {
  return new Milenage(k, opc).f5star(rand);
}
