/**
 * The P-CSCF's security associations with UEs (TS 33.203 §7.1, §7.4): a pending pair created when the 401 goes
 * out with Security-Server, in use once the protected REGISTER it carried is answered 200. Simulated: the
 * parameters are recorded and checked, nothing is installed in a kernel.
 */
import type { SecurityMechanism } from '../sip/headers/security.js';
import type { TransportProtocol } from '../sip/transport/types.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { CipherKeys } from './register-headers.js';
import { ownString } from '../util/own-string.js';
import { ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, serverMechanism, type IpsecChoice, type IpsecOffer } from './sec-agree.js';

export interface SecurityAssociation {
  /** The UE's address (the SA's remote address, TS 33.203 §7.1). */
  ueAddress: string;
  transport: TransportProtocol;
  /** The UE's parameters from its Security-Client. */
  ue: IpsecOffer;
  /** The P-CSCF's SPIs, ports and the algorithms chosen. */
  pcscf: IpsecChoice;
  /** The Security-Server the P-CSCF sent, which Security-Verify must repeat (RFC 3329 §2.3.1). */
  sent: readonly SecurityMechanism[];
  /** CK and IK from the challenge (TS 33.203 §7.1: the SA keys are derived from them). */
  keys: CipherKeys;
  impi?: string;
  state: 'pending' | 'in-use';
  createdAt: number;
}

/**
 * An SA pair as the P-CSCF records it when the 401 goes out. What it sent in Security-Server is a function of
 * its choice (sec-agree.ts serverMechanism), so it is derived when a Security-Verify is checked instead of kept
 * parsed beside every registration (issue 7: the parsed mechanism, a Map of nine parameters, was ≈ 1 KB per UE).
 */
export function newSecurityAssociation(init: Omit<SecurityAssociation, 'sent'>): SecurityAssociation {
  return new HeldSecurityAssociation(init);
}

class HeldSecurityAssociation implements SecurityAssociation {
  ueAddress: string;
  transport: TransportProtocol;
  ue: IpsecOffer;
  pcscf: IpsecChoice;
  impi?: string;
  state: 'pending' | 'in-use';
  createdAt: number;
  /** CK then IK in one string (nothing reads them but a kernel SA would): one string instead of an object and two. */
  private readonly cipherKeys: string;
  private readonly ckLength: number;

  constructor(init: Omit<SecurityAssociation, 'sent'>) {
    // It lives as long as the registration: its own copies, not views into the REGISTER and 401 they came from.
    this.ueAddress = ownString(init.ueAddress);
    this.transport = init.transport;
    this.ue = ownOffer(init.ue);
    this.pcscf = { ...init.pcscf, alg: known(init.pcscf.alg, INTEGRITY_ALGORITHMS), ealg: known(init.pcscf.ealg, ENCRYPTION_ALGORITHMS), prot: known(init.pcscf.prot, PROTOCOLS), mod: known(init.pcscf.mod, MODES) };
    this.cipherKeys = ownString(init.keys.ck + init.keys.ik);
    this.ckLength = init.keys.ck.length;
    if (init.impi !== undefined) this.impi = ownString(init.impi);
    this.state = init.state;
    this.createdAt = init.createdAt;
  }

  /** TS 33.203 §7.1: the keys the SA pair is derived from. */
  get keys(): CipherKeys {
    return { ck: this.cipherKeys.slice(0, this.ckLength), ik: this.cipherKeys.slice(this.ckLength) };
  }

  /** RFC 3329 §2.3.1: the Security-Server sent, which Security-Verify must repeat. */
  get sent(): readonly SecurityMechanism[] {
    return [serverMechanism(this.pcscf)];
  }
}

/** The offer with its algorithm names as the P-CSCF's own constants when they are one of them. */
function ownOffer(o: IpsecOffer): IpsecOffer {
  const copy: IpsecOffer = { ...o, alg: known(o.alg, INTEGRITY_ALGORITHMS) };
  if (o.ealg !== undefined) copy.ealg = known(o.ealg, ENCRYPTION_ALGORITHMS);
  if (o.prot !== undefined) copy.prot = known(o.prot, PROTOCOLS);
  if (o.mod !== undefined) copy.mod = known(o.mod, MODES);
  return copy;
}

/** TS 33.203 §7.2: prot and mod values, as the P-CSCF writes them. */
const PROTOCOLS = ['esp', 'ah'] as const;
const MODES = ['trans', 'tun', 'UDP-enc-tun'] as const;

/** One copy of each algorithm, protocol and mode name for every SA, not one per SA (issue 7). */
function known(name: string, names: readonly string[]): string {
  return names.find((n) => n === name) ?? ownString(name);
}

/** An SA is found by the UE's address and its own SPIs (RFC 4301 §4.1: SPI plus destination identify an SA). */
export function saKey(ueAddress: string, ue: { spiC: number; spiS: number }): string {
  return `${ueAddress}|${ue.spiC}|${ue.spiS}`;
}

/**
 * How long a pending SA waits for the protected REGISTER (TS 33.203 §7.1: the temporary SAs live as long as
 * the authentication may take; the S-CSCF's reg-await-auth is of the same order).
 */
export const PENDING_SA_LIFETIME_MS = 240_000;

/** Pending SAs awaiting their protected REGISTER. SAs in use live with the registration that uses them. */
export class PendingSecurityAssociations {
  private readonly pending = new Map<string, { sa: SecurityAssociation; timer: TimerHandle }>();

  constructor(private readonly clock: Clock) {}

  add(sa: SecurityAssociation): void {
    const key = saKey(sa.ueAddress, sa.ue);
    this.pending.get(key)?.timer.cancel();
    const timer = this.clock.setTimeout(() => this.pending.delete(key), PENDING_SA_LIFETIME_MS);
    this.pending.set(key, { sa, timer });
  }

  get(ueAddress: string, ue: { spiC: number; spiS: number }): SecurityAssociation | undefined {
    return this.pending.get(saKey(ueAddress, ue))?.sa;
  }

  delete(sa: SecurityAssociation): void {
    const key = saKey(sa.ueAddress, sa.ue);
    const entry = this.pending.get(key);
    if (entry?.sa !== sa) return;
    entry.timer.cancel();
    this.pending.delete(key);
  }

  get size(): number {
    return this.pending.size;
  }

  clear(): void {
    for (const e of this.pending.values()) e.timer.cancel();
    this.pending.clear();
  }
}
