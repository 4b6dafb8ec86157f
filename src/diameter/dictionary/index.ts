import { BASE_AVPS, BASE_COMMANDS } from './base.js';
import { CX_AVPS, CX_COMMANDS } from './cx.js';
import type { AvpDefinition, CommandDefinition } from './types.js';

export * from './types.js';
export * from './base.js';
export * from './cx.js';

/** A Vendor-ID and AVP Code packed into one number: both are 32 bits, the product stays below 2^53. */
function avpKey(code: number, vendorId: number): number {
  return vendorId * 0x1_0000_0000 + code;
}

/**
 * Lookup of AVP and command definitions by code or name. AVPs are identified by (code, Vendor-ID)
 * (RFC 6733 §4.1); commands by (code, Application-Id), since two applications may reuse a code.
 */
export class Dictionary {
  private readonly avpsByKey = new Map<number, AvpDefinition>();
  private readonly avpsByName = new Map<string, AvpDefinition>();
  private readonly commandsByKey = new Map<number, CommandDefinition>();

  constructor(avps: readonly AvpDefinition[], commands: readonly CommandDefinition[]) {
    for (const a of avps) {
      const key = avpKey(a.code, a.vendorId);
      if (this.avpsByKey.has(key)) throw new Error(`dictionary: AVP ${a.code}/${a.vendorId} defined twice`);
      if (this.avpsByName.has(a.name)) throw new Error(`dictionary: AVP name ${a.name} defined twice`);
      this.avpsByKey.set(key, a);
      this.avpsByName.set(a.name, a);
    }
    for (const c of commands) {
      for (const r of [...c.request, ...c.answer]) {
        if (!this.avpsByName.has(r.name)) throw new Error(`dictionary: ${c.name} names unknown AVP ${r.name}`);
      }
      this.commandsByKey.set(avpKey(c.code, c.applicationId), c);
    }
  }

  avp(code: number, vendorId = 0): AvpDefinition | undefined {
    return this.avpsByKey.get(avpKey(code, vendorId));
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
    return this.commandsByKey.get(avpKey(code, applicationId));
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
