import type { Clock } from '../util/clock.js';

/**
 * The location service of RFC 3261 §10 (the abstract database a registrar writes and a proxy reads, §10.3
 * and §16.5): per address-of-record, the contact bindings with their expiry and the Call-ID / CSeq of the
 * REGISTER that last touched them (§10.3 step 7). In memory; an expired binding is invisible at once and
 * removed when its AOR is next touched or by `sweep`, so no timer runs per binding.
 */
export interface Binding {
  /** The contact URI as registered (without <>). */
  uri: string;
  /** The Contact value's `q` (§20.10), used to order forked branches and 3xx contacts. */
  q?: number;
  expiresAt: number;
  callId: string;
  cseq: number;
}

export class LocationService {
  private readonly byAor = new Map<string, Binding[]>();

  constructor(private readonly clock: Clock) {}

  /** The live bindings of an AOR, highest q first (§16.6: targets in q order), never undefined. */
  lookup(aor: string): Binding[] {
    const list = this.byAor.get(aor);
    if (!list) return [];
    const now = this.clock.now();
    const live = list.filter((b) => b.expiresAt > now);
    if (live.length !== list.length) this.put(aor, live);
    if (live.length > 1) live.sort((a, b) => (b.q ?? 1) - (a.q ?? 1));
    return live;
  }

  /** The binding of one contact URI (compared as written, §10.3 step 7 URI equality is the caller's). */
  find(aor: string, uri: string): Binding | undefined {
    return this.lookup(aor).find((b) => b.uri === uri);
  }

  /** Adds or replaces the binding of `binding.uri`; an expiry not in the future removes it (§10.3 step 7). */
  bind(aor: string, binding: Binding): void {
    const now = this.clock.now();
    const list = (this.byAor.get(aor) ?? []).filter((b) => b.expiresAt > now && b.uri !== binding.uri);
    if (binding.expiresAt > now) list.push(binding);
    this.put(aor, list);
  }

  /** Removes every binding of an AOR (the `*` REGISTER of §10.2.2). */
  clear(aor: string): void {
    this.byAor.delete(aor);
  }

  /** Drops every expired binding; returns how many AORs still have one. */
  sweep(): number {
    const now = this.clock.now();
    for (const [aor, list] of this.byAor) {
      const live = list.filter((b) => b.expiresAt > now);
      this.put(aor, live);
    }
    return this.byAor.size;
  }

  get size(): number {
    return this.byAor.size;
  }

  private put(aor: string, list: Binding[]): void {
    if (list.length === 0) this.byAor.delete(aor);
    else this.byAor.set(aor, list);
  }
}
