/**
 * Octet-string helpers shared by the AKA code: fixed-length checks that name the offending field, and XOR.
 * Every AKA quantity has a length fixed by TS 33.102 §6.3.7 / TS 35.206 §2 (K 128 bits, RAND 128, SQN 48,
 * AMF 16, MAC 64, RES 64 for Milenage, CK/IK 128, AK 48); a wrong length is always a configuration mistake
 * worth naming, never something to pad or truncate silently.
 */

/** Thrown for a key, RAND, SQN … of the wrong length or not valid hex; `field` names the input. */
export class AkaInputError extends RangeError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'AkaInputError';
  }
}

export function requireLength(field: string, value: Buffer, octets: number): Buffer {
  if (!Buffer.isBuffer(value)) throw new AkaInputError(field, `expected a Buffer of ${octets} octets`);
  if (value.length !== octets) {
    throw new AkaInputError(field, `expected ${octets} octets (${octets * 2} hex digits), got ${value.length}`);
  }
  return value;
}

const HEX = /^[0-9a-fA-F]*$/;

/** Strict hex decoding: Buffer.from(…, 'hex') silently stops at the first bad digit, which hides typos in keys. */
export function fromHex(field: string, text: string, octets?: number): Buffer {
  let s = text.trim();
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2);
  if (s.length % 2 !== 0 || !HEX.test(s)) throw new AkaInputError(field, `not an even-length hex string: "${text}"`);
  const out = Buffer.from(s, 'hex');
  if (octets !== undefined) requireLength(field, out, octets);
  return out;
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}
