/**
 * `n` as V8 holds a small integer (31 bits, pointer compression): whole numbers made by double arithmetic
 * (a difference of two epoch-ms times) stay doubles, and one double stored into a field turns that field
 * into a 16-byte boxed double for every object of its shape (issue 7: memory per registered UE). Any other
 * number, -0 included, comes back as it is.
 */
export function smallInteger(n: number): number {
  return n >= -0x40000000 && n < 0x40000000 && (n | 0) === n && !Object.is(n, -0) ? n | 0 : n;
}

/**
 * `t` as a small integer count of ms after `epoch`, when that offset gives `t` back exactly (`epoch + offset
 * === t`) and fits V8's small integers; undefined otherwise (a fractional or far-off time, -0, NaN), for the
 * caller to hold the time as given. How the stores keep an epoch-ms time (above 2^31, a 16-byte boxed double
 * per field) as a few bytes inside its object (issue 7).
 */
export function smallOffset(t: number, epoch: number): number | undefined {
  const offset = t - epoch;
  if (offset + epoch !== t || !Number.isInteger(offset) || offset < -0x40000000 || offset >= 0x40000000 || Object.is(offset, -0)) return undefined;
  return offset | 0;
}
