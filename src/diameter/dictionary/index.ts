import { BASE_AVPS, BASE_COMMANDS } from './base.js';
import { CX_AVPS, CX_COMMANDS } from './cx.js';
import type { AvpDefinition, CommandDefinition } from './types.js';

export * from './types.js';
export * from './base.js';
export * from './cx.js';

/** A two-level map keyed by two 32-bit numbers (packing both into one double would lose bits). */
class PairMap<V> {
  private readonly outer = new Map<number, Map<number, V>>();
  get(a: number, b: number): V | undefined {
    return this.outer.get(a)?.get(b);
  }
  has(a: number, b: number): boolean {
    return this.outer.get(a)?.has(b) ?? false;
  }
  set(a: number, b: number, v: V): void {
    let inner = this.outer.get(a);
    if (!inner) this.outer.set(a, (inner = new Map()));
    inner.set(b, v);
  }
  *values(): Iterable<V> {
    for (const inner of this.outer.values()) yield* inner.values();
  }
}

/**
 * Lookup of AVP and command definitions by code or name. AVPs are identified by (code, Vendor-ID)
 * (RFC 6733 §4.1); commands by (code, Application-Id), since two applications may reuse a code.
 */
export class Dictionary {
  private readonly avpsByKey = new PairMap<AvpDefinition>();
  private readonly avpsByName = new Map<string, AvpDefinition>();
  private readonly commandsByKey = new PairMap<CommandDefinition>();

  constructor(avps: readonly AvpDefinition[], commands: readonly CommandDefinition[]) {
    for (const a of avps) {
      if (this.avpsByKey.has(a.vendorId, a.code)) throw new Error(`dictionary: AVP ${a.code}/${a.vendorId} defined twice`);
      if (this.avpsByName.has(a.name)) throw new Error(`dictionary: AVP name ${a.name} defined twice`);
      this.avpsByKey.set(a.vendorId, a.code, a);
      this.avpsByName.set(a.name, a);
    }
    for (const c of commands) {
      for (const r of [...c.request, ...c.answer]) {
        if (!this.avpsByName.has(r.name)) throw new Error(`dictionary: ${c.name} names unknown AVP ${r.name}`);
      }
      this.commandsByKey.set(c.applicationId, c.code, c);
    }
  }

  avp(code: number, vendorId = 0): AvpDefinition | undefined {
    return this.avpsByKey.get(vendorId, code);
  }

  avpByName(name: string): AvpDefinition | undefined {
    return this.avpsByName.get(name);
  }

  /** Like avpByName, for names the caller knows to exist: a typo is a programming error. */
  requireAvp(name: string): AvpDefinition {
    const d = this.avpsByName.get(name);
    if (!d) throw new Error(`dictionary: no AVP named "${name}"`);
    return d;
  }

  command(code: number, applicationId: number): CommandDefinition | undefined {
    return this.commandsByKey.get(applicationId, code);
  }

  get avps(): Iterable<AvpDefinition> {
    return this.avpsByKey.values();
  }

  get commands(): Iterable<CommandDefinition> {
    return this.commandsByKey.values();
  }
}

/** The base protocol and Cx/Dx: everything imslab speaks. */
export const defaultDictionary = new Dictionary([...BASE_AVPS, ...CX_AVPS], [...BASE_COMMANDS, ...CX_COMMANDS]);
