/**
 * Lexical helpers shared by the codec and the header views (RFC 3261 §25.1): splitting at separators that
 * are not inside a quoted-string or a `<…>` URI.
 */

/** Splits a list header value at top-level commas (RFC 3261 §7.3.1), trimming each element. */
export function splitList(value: string): string[] {
  return splitTopLevel(value, 44 /* , */);
}

/** Splits at a separator character code that is outside quoted strings and angle brackets. */
export function splitTopLevel(value: string, sep: number): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60 /* < */) inAngle = true;
    else if (c === 62 /* > */) inAngle = false;
    else if (c === sep && !inAngle) {
      const part = value.slice(start, i).trim();
      if (part) out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last) out.push(last);
  return out;
}
