/**
 * A copy of `s` that holds only its own characters. V8 cuts substrings (String.prototype.slice, as every parser
 * here does) as views into the string they came from, so a value kept from a parsed message keeps the whole
 * message text alive: a Call-ID kept for a registration held ≈ 1 KB of REGISTER (issue 7). Likewise a string
 * built with `+` stays a rope of its parts. Stores that keep
 * values for as long as a registration lives take them through this. Exact for any string: where the UTF-8
 * round trip would change it (a lone surrogate), the string itself is returned.
 */
export function ownString(s: string): string {
  if (s.length === 0) return s;
  // Short strings too: a key built with `+` or a template is a rope of cons strings (32 bytes a node) until copied.
  const copy = Buffer.from(s, 'utf8').toString('utf8');
  return copy === s ? copy : s;
}
