/**
 * A copy of `s` that holds only its own characters. V8 cuts substrings (String.prototype.slice, as every parser
 * here does) as views into the string they came from, so a value kept from a parsed message keeps the whole
 * message text alive: a Call-ID kept for a registration held ≈ 1 KB of REGISTER (issue 7). Stores that keep
 * values for as long as a registration lives take them through this. Exact for any string: where the UTF-8
 * round trip would change it (a lone surrogate), the string itself is returned.
 */
export function ownString(s: string): string {
  // Below 13 characters V8 copies on slice already (SlicedString::kMinLength).
  if (s.length < 13) return s;
  const copy = Buffer.from(s, 'utf8').toString('utf8');
  return copy === s ? copy : s;
}
