/**
 * `s` in one piece. A string built by concatenation (a transaction key, a branch made of the magic cookie, a hash
 * and a token) is a rope in V8: a node per `+`, each pointing at its parts. Reading a character of a rope makes
 * V8 copy it into one flat string in place, and the garbage collector then drops the rope's nodes; a key the
 * transaction table keeps for 64·T1 (Timers J, L, M) costs one allocation instead of a node per part.
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
