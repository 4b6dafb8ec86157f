/**
 * Lexical helpers shared by the codec and the header views (RFC 3261 §25.1): splitting at separators that
 * are not inside a quoted-string or a `<…>` URI.
 */

/** Splits a list header value at top-level commas (RFC 3261 §7.3.1), trimming each element. */
export function splitList(value: string): string[] {
  return splitTopLevel(value, 44 /* , */);
}

/**
 * The first element of a list header value, as splitList(value)[0] gives it, without splitting the rest: the
 * top Via or Route of a message is read many times per hop, and its line rarely holds a second element.
 */
export function firstListElement(value: string): string | undefined {
  let start = 0;
  for (;;) {
    // A top-level comma is never inside a quoted string or <…>, so the scan may start afresh after it.
    const comma = topLevelIndex(value, 44 /* , */, start);
    const part = (comma < 0 ? (start === 0 ? value : value.slice(start)) : value.slice(start, comma)).trim();
    if (part) return part;
    if (comma < 0) return undefined;
    start = comma + 1;
  }
}

/** Index of the first `sep` at or after `from` that is outside quoted strings and angle brackets, or -1. */
export function topLevelIndex(value: string, sep: number, from = 0): number {
  let inQuote = false;
  let inAngle = false;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inQuote = false;
    } else if (c === 34) inQuote = true;
    else if (c === 60 /* < */) inAngle = true;
    else if (c === 62 /* > */) inAngle = false;
    else if (c === sep && !inAngle) return i;
  }
  return -1;
}

/** Splits at a separator character code that is outside quoted strings and angle brackets. */
export function splitTopLevel(value: string, sep: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (;;) {
    // Outside quotes and <…> at every top-level separator, so each scan starts afresh after the last.
    const at = topLevelIndex(value, sep, start);
    const part = (at < 0 ? value.slice(start) : value.slice(start, at)).trim();
    if (part) out.push(part);
    if (at < 0) return out;
    start = at + 1;
  }
}
