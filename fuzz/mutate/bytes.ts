/**
 * Format-blind mutations: what a bad link, a broken peer or an attacker with a hex editor does to a
 * message. Each takes the input and a SeededRandom and returns a new buffer (inputs are never changed in
 * place, so a seed can be reused). Text- and Diameter-aware mutators add their own on top of these.
 */
import type { SeededRandom } from '../../src/util/random.js';

/** Inputs never grow past this: large enough for "huge value" cases, small enough to keep the pace. */
export const MAX_INPUT = 192 * 1024;

export interface MutationContext {
  /** Another seed of the same corpus, for splicing. */
  other(): Buffer;
}

export type Mutation = (input: Buffer, r: SeededRandom, ctx: MutationContext) => Buffer;

/** Bytes that sit at decision points of SIP and Diameter decoders. */
export const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x3c, 0x3e, 0x22, 0x5c, 0x25, 0x3d, 0x40, 0x5b, 0x5d];

/** Offset in [0, n], biased towards the first 256 octets where headers and start lines are. */
export function position(r: SeededRandom, n: number): number {
  if (n <= 0) return 0;
  return r.float() < 0.5 ? r.int(Math.min(n, 256) + 1) : r.int(n + 1);
}

export function splice3(a: Buffer, at: number, cut: number, insert: Buffer): Buffer {
  const end = Math.min(a.length, at + cut);
  const out = Buffer.allocUnsafe(at + insert.length + (a.length - end));
  a.copy(out, 0, 0, at);
  insert.copy(out, at);
  a.copy(out, at + insert.length, end);
  return out.length > MAX_INPUT ? out.subarray(0, MAX_INPUT) : out;
}

export const flipBits: Mutation = (input, r) => {
  if (input.length === 0) return input;
  const out = Buffer.from(input);
  const n = 1 + r.int(8);
  for (let i = 0; i < n; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
  return out;
};

export const interestingByte: Mutation = (input, r) => {
  if (input.length === 0) return Buffer.from([INTERESTING_BYTES[r.int(INTERESTING_BYTES.length)]!]);
  const out = Buffer.from(input);
  out[position(r, out.length - 1)] = INTERESTING_BYTES[r.int(INTERESTING_BYTES.length)]!;
  return out;
};

export const randomBytes: Mutation = (input, r) => {
  const at = position(r, input.length);
  return splice3(input, at, r.float() < 0.5 ? 0 : 1 + r.int(8), r.bytes(1 + r.int(16)));
};

export const deleteRange: Mutation = (input, r) => {
  if (input.length === 0) return input;
  const at = position(r, input.length - 1);
  const n = 1 + (r.float() < 0.7 ? r.int(8) : r.int(Math.max(1, input.length - at)));
  return splice3(input, at, n, Buffer.alloc(0));
};

export const duplicateRange: Mutation = (input, r) => {
  if (input.length === 0) return input;
  const from = r.int(input.length);
  const len = 1 + r.int(Math.min(64, input.length - from));
  const piece = input.subarray(from, from + len);
  // Sometimes many copies: a long run of the same field is how counters and lengths overflow.
  const copies = r.float() < 0.15 ? 1 + r.int(2000) : 1;
  const block = copies === 1 ? Buffer.from(piece) : Buffer.alloc(Math.min(piece.length * copies, MAX_INPUT), piece);
  return splice3(input, position(r, input.length), 0, block);
};

export const truncate: Mutation = (input, r) => (input.length <= 1 ? input : input.subarray(0, r.int(input.length)));

/** Head of this input, tail of another seed: two valid halves make an invalid whole. */
export const splice: Mutation = (input, r, ctx) => {
  const other = ctx.other();
  const a = r.int(input.length + 1);
  const b = r.int(other.length + 1);
  return Buffer.concat([input.subarray(0, a), other.subarray(b)]).subarray(0, MAX_INPUT);
};

export const BYTE_MUTATIONS: readonly Mutation[] = [flipBits, interestingByte, randomBytes, deleteRange, duplicateRange, truncate, splice];

/** Picks `n` mutations from `list` (with `weights` when given) and applies them in turn. */
export function pick<T>(r: SeededRandom, list: readonly T[]): T {
  return list[r.int(list.length)]!;
}
