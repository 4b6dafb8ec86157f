import { randomBytes } from 'node:crypto';

/**
 * Randomness as a dependency: tags, branches, Call-IDs, RAND, SPIs and ports all come from a Random,
 * so a run with a seed is reproducible byte for byte (but for time).
 */
export interface Random {
  /** n random octets. */
  bytes(n: number): Buffer;
  /** A uniformly distributed integer in [0, bound). */
  int(bound: number): number;
  /** A float in [0, 1). */
  float(): number;
  /** A token of lowercase hex characters, `chars` long, safe in any SIP token position. */
  token(chars?: number): string;
}

/** sfc32 seeded through splitmix32: small, fast and good enough for protocol identifiers in a simulator. */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string) {
    let s = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** A child generator for one node or UE: its sequence does not depend on how much the others draw. */
  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.a}:${this.b}:${label}`);
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }

  int(bound: number): number {
    return Math.floor(this.float() * bound);
  }

  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  token(chars = 16): string {
    return this.bytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars);
  }
}

/** Cryptographically random, for `imslab serve` facing outside UEs, where predictability would be a weakness. */
export class CryptoRandom implements Random {
  bytes(n: number): Buffer {
    return randomBytes(n);
  }
  int(bound: number): number {
    return Math.floor(this.float() * bound);
  }
  float(): number {
    return randomBytes(4).readUInt32BE(0) / 0x1_0000_0000;
  }
  token(chars = 16): string {
    return randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars);
  }
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
