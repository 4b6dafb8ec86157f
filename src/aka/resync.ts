import { timingSafeEqual } from 'node:crypto';
import { requireLength, xor } from './bytes.js';
import { Milenage } from './milenage.js';

/** AMF* of TS 33.102 §6.3.3: resynchronisation always uses the dummy AMF 0x0000 in f1*. */
export const RESYNC_AMF: Buffer = Buffer.from([0, 0]);

/** UE side (TS 33.102 §6.3.3): AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S, MAC-S = f1*_K(SQN_MS ‖ RAND ‖ AMF*), AK* = f5*_K(RAND). */
export function computeAuts(input: { k: Buffer; opc: Buffer; rand: Buffer; sqnMs: Buffer; milenage?: Milenage }): Buffer {
  requireLength('SQN_MS', input.sqnMs, 6);
  const m = input.milenage ?? new Milenage(input.k, input.opc);
  const akStar = m.f5star(input.rand);
  const { macS } = m.f1star(input.rand, input.sqnMs, RESYNC_AMF);
  return Buffer.concat([xor(input.sqnMs, akStar), macS]);
}

export interface ResyncResult {
  /** MAC-S verified: the AUTS was made by a USIM holding this subscriber's K/OPc for this RAND. */
  valid: boolean;
  /** SQN_MS recovered from AUTS (meaningful only when valid). */
  sqnMs: Buffer;
}

/**
 * HSS side (TS 33.102 §6.3.5): recover SQN_MS = (SQN_MS ⊕ AK*) ⊕ f5*_K(RAND) and verify MAC-S with AMF* = 0000.
 * RAND is the one in the challenge the UE answered (the S-CSCF sends RAND ‖ AUTS in SIP-Authorization, TS 29.228).
 */
export function resynchronise(input: { k: Buffer; opc: Buffer; rand: Buffer; auts: Buffer; milenage?: Milenage }): ResyncResult {
  requireLength('AUTS', input.auts, 14);
  const m = input.milenage ?? new Milenage(input.k, input.opc);
  const sqnMs = xor(input.auts.subarray(0, 6), m.f5star(input.rand));
  const { macS } = m.f1star(input.rand, sqnMs, RESYNC_AMF);
  return { valid: timingSafeEqual(macS, input.auts.subarray(6, 14)), sqnMs };
}

/** Splits the 30-octet SIP-Authorization of a resync MAR (TS 29.228 §6.3.9) into RAND and AUTS. */
export function splitResyncAuthorization(sipAuthorization: Buffer): { rand: Buffer; auts: Buffer } {
  requireLength('SIP-Authorization', sipAuthorization, 30);
  return { rand: sipAuthorization.subarray(0, 16), auts: sipAuthorization.subarray(16, 30) };
}
