/**
 * `n` as V8 holds a small integer (31 bits, pointer compression): whole numbers made by double arithmetic
 * (a difference of two epoch-ms times) stay doubles, and one double stored into a field turns that field
 * into a 16-byte boxed double for every object of its shape (issue 7: memory per registered UE). Any other
 * number, -0 included, comes back as it is.
 */
export function smallInteger(n: number): number {
  return n >= -0x40000000 && n < 0x40000000 && (n | 0) === n && !Object.is(n, -0) ? n | 0 : n;
}
