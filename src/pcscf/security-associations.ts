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
import { smallOffset } from '../util/small-integer.js';
import { ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS, serverMechanism, type IpsecChoice, type IpsecEndpoint, type IpsecOffer } from './sec-agree.js';

export interface SecurityAssociation {
  /** The UE's address (the SA's remote address, TS 33.203 §7.1). */
  ueAddress: string;
  transport: TransportProtocol;
  /** The UE's parameters from its Security-Client (read-only: fixed once the 401 has carried them). */
  readonly ue: IpsecOffer;
  /** The P-CSCF's SPIs, ports and the algorithms chosen (read-only, as `ue`). */
  readonly pcscf: IpsecChoice;
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

/** What HeldSecurityAssociation counts createdAt from: the first SA's createdAt in this process. */
let createdEpoch: number | undefined;

/** The transports an SA may be over, as the `flags` of HeldSecurityAssociation number them. */
const TRANSPORTS: readonly TransportProtocol[] = ['udp', 'tcp', 'tls'];
/**
 * Bits of HeldSecurityAssociation's `flags`: the names code (packNames, 16 bits), the transport, the state, and
 * how createdAt, the names and the keys are held.
 */
const NAMES_MASK = 0xffff;
const TRANSPORT_SHIFT = 16;
const IN_USE = 1 << 18;
const ABSOLUTE_CREATED = 1 << 19;
const ODD_NAMES = 1 << 20;
/** CK and IK are as long as each other (TS 33.105: 128 bits each), one string of both split in the middle. */
const HALVES = 1 << 21;
/** ...and that string is the bytes their hex digits spell. */
const HEX_KEYS = 1 << 22;
/** The IMPI's length + 1 when the IMPI leads the string of the keys (0: it does not), in the top 7 bits. */
const IMPI_LENGTH_SHIFT = 23;
const IMPI_LENGTH_MAX = 126;

class HeldSecurityAssociation implements SecurityAssociation {
  ueAddress: string;
  /** The IMPI when it does not lead `cipherKeys` (longer than IMPI_LENGTH_MAX, or it or the keys beyond Latin-1). */
  declare private ownImpi?: string;
  /**
   * The algorithm names, the transport, the state and how createdAt, the names and the keys are held, in one
   * small integer rather than five fields (issue 7: 8 bytes a field per SA): see NAMES_MASK and what follows it.
   */
  private flags: number;
  /**
   * createdAt as ms from the first SA's (`createdEpoch`): an epoch-ms time is above 2^31, which V8 holds as a
   * boxed double of 16 bytes per SA (issue 7), where an offset of less than 12 days is a small integer in the
   * object. ABSOLUTE_CREATED marks a time that does not come back exactly that way (not whole ms), held as given.
   */
  private created: number;
  /**
   * The offer and the choice as plain fields, not two objects of eight properties each (issue 7: ≈ 150 B per
   * SA): the four SPIs (32 bits each, RFC 4303 §2.1), the four ports two to a number (16 bits each), and the
   * eight algorithm, protocol and mode names as one small code while all are names of TS 33.203 §7.2. SPIs
   * and ports are kept as signed 32-bit values (`| 0`, read back with `>>> 0`): V8 holds those as small
   * integers in the field itself, where an SPI above 2^31 (half of the random ones) made every SPI field a
   * boxed double of 16 bytes more.
   */
  private readonly ueSpiC: number;
  private readonly ueSpiS: number;
  private readonly pcscfSpiC: number;
  private readonly pcscfSpiS: number;
  private readonly uePorts: number;
  private readonly pcscfPorts: number;
  /** The eight names when one is not of TS 33.203 §7.2 (ODD_NAMES), else absent: the names are in `flags`. */
  declare private oddNames?: readonly (string | undefined)[];
  /**
   * CK then IK (nothing reads them but a kernel SA would, TS 33.203 §7.1), exactly as the 401 carried them: for
   * keys of one length (HALVES) one string of both, as the bytes their hex digits spell when they are hex, one
   * character a byte (HEX_KEYS; 48 bytes for the two 128-bit keys where their 64 hex digits took 80); else the two.
   * The IMPI leads that string when it can (see IMPI_LENGTH_SHIFT): one string where two took a header each.
   */
  private cipherKeys: string | readonly [string, string];

  constructor(init: Omit<SecurityAssociation, 'sent'>) {
    // It lives as long as the registration: its own copies, not views into the REGISTER and 401 they came from.
    this.ueAddress = ownString(init.ueAddress);
    const transport = TRANSPORTS.indexOf(init.transport);
    if (transport < 0) throw new RangeError(`transport ${init.transport} is not one of ${TRANSPORTS.join(', ')}`);
    this.flags = transport << TRANSPORT_SHIFT;
    this.created = 0;
    const { ue, pcscf } = init;
    // What the packing below can hold, and all RFC 4303 §2.1 and RFC 768 allow: refuse the rest, keep nothing.
    for (const e of [ue, pcscf]) {
      if (!isUint(e.spiC, 0xffffffff) || !isUint(e.spiS, 0xffffffff)) throw new RangeError(`SPI ${e.spiC}/${e.spiS} is not a 32-bit unsigned integer`);
      if (!isUint(e.portC, 0xffff) || !isUint(e.portS, 0xffff)) throw new RangeError(`port ${e.portC}/${e.portS} is not a 16-bit unsigned integer`);
    }
    this.ueSpiC = ue.spiC | 0;
    this.ueSpiS = ue.spiS | 0;
    this.pcscfSpiC = pcscf.spiC | 0;
    this.pcscfSpiS = pcscf.spiS | 0;
    this.uePorts = packPorts(ue);
    this.pcscfPorts = packPorts(pcscf);
    const names = packNames([ue.alg, ue.ealg, ue.prot, ue.mod, pcscf.alg, pcscf.ealg, pcscf.prot, pcscf.mod]);
    if (typeof names === 'number') this.flags |= names;
    else {
      this.oddNames = names;
      this.flags |= ODD_NAMES;
    }
    const { ck, ik } = init.keys;
    if (ck.length !== ik.length) this.cipherKeys = Object.freeze([ownString(ck), ownString(ik)] as const);
    else if (isHexBytes(ck) && isHexBytes(ik)) {
      this.cipherKeys = Buffer.from(ck + ik, 'hex').toString('latin1');
      this.flags |= HALVES | HEX_KEYS;
    } else {
      this.cipherKeys = ownString(ck + ik);
      this.flags |= HALVES;
    }
    this.impi = init.impi;
    this.state = init.state;
    this.createdAt = init.createdAt;
  }

  get impi(): string | undefined {
    const length = this.flags >>> IMPI_LENGTH_SHIFT;
    return length === 0 ? this.ownImpi : (this.cipherKeys as string).slice(0, length - 1);
  }

  set impi(impi: string | undefined) {
    const keys = this.keyPart();
    this.flags &= ~(0x7f << IMPI_LENGTH_SHIFT);
    if (this.ownImpi !== undefined) this.ownImpi = undefined;
    if (impi !== undefined && typeof keys === 'string' && impi.length <= IMPI_LENGTH_MAX && isLatin1(impi) && isLatin1(keys)) {
      // Built as bytes: one flat string, not a rope of the two (util/own-string.ts).
      this.cipherKeys = Buffer.concat([Buffer.from(impi, 'latin1'), Buffer.from(keys, 'latin1')]).toString('latin1');
      this.flags |= (impi.length + 1) << IMPI_LENGTH_SHIFT;
    } else {
      this.cipherKeys = keys;
      if (impi !== undefined) this.ownImpi = ownString(impi);
    }
  }

  get transport(): TransportProtocol {
    return TRANSPORTS[(this.flags >> TRANSPORT_SHIFT) & 3]!;
  }

  set transport(t: TransportProtocol) {
    const at = TRANSPORTS.indexOf(t);
    if (at < 0) throw new RangeError(`transport ${t} is not one of ${TRANSPORTS.join(', ')}`);
    this.flags = (this.flags & ~(3 << TRANSPORT_SHIFT)) | (at << TRANSPORT_SHIFT);
  }

  get state(): 'pending' | 'in-use' {
    return this.flags & IN_USE ? 'in-use' : 'pending';
  }

  set state(s: 'pending' | 'in-use') {
    if (s !== 'pending' && s !== 'in-use') throw new RangeError(`SA state ${s} is not pending or in-use`);
    this.flags = s === 'in-use' ? this.flags | IN_USE : this.flags & ~IN_USE;
  }

  get createdAt(): number {
    return this.flags & ABSOLUTE_CREATED ? this.created : this.created + createdEpoch!;
  }

  set createdAt(t: number) {
    createdEpoch ??= Number.isFinite(t) ? Math.floor(t) : 0;
    const offset = smallOffset(t, createdEpoch);
    if (offset !== undefined) {
      this.created = offset;
      this.flags &= ~ABSOLUTE_CREATED;
    } else {
      this.created = t;
      this.flags |= ABSOLUTE_CREATED;
    }
  }

  /** The UE's parameters from its Security-Client, rebuilt (a copy: changing it changes nothing). */
  get ue(): IpsecOffer {
    const [alg, ealg, prot, mod] = this.names();
    const offer: IpsecOffer = { spiC: this.ueSpiC >>> 0, spiS: this.ueSpiS >>> 0, portC: portC(this.uePorts), portS: portS(this.uePorts), alg: alg! };
    if (ealg !== undefined) offer.ealg = ealg;
    if (prot !== undefined) offer.prot = prot;
    if (mod !== undefined) offer.mod = mod;
    return offer;
  }

  /** The UE's SPIs alone (what finds the SA, saKey), without the rest of its offer. */
  ueSpis(): { spiC: number; spiS: number } {
    return { spiC: this.ueSpiC >>> 0, spiS: this.ueSpiS >>> 0 };
  }

  /** The P-CSCF's SPIs, ports and the algorithms chosen, rebuilt (a copy). */
  get pcscf(): IpsecChoice {
    const names = this.names();
    return { spiC: this.pcscfSpiC >>> 0, spiS: this.pcscfSpiS >>> 0, portC: portC(this.pcscfPorts), portS: portS(this.pcscfPorts), alg: names[4]!, ealg: names[5]!, prot: names[6]!, mod: names[7]! };
  }

  /** TS 33.203 §7.1: the keys the SA pair is derived from, as the 401 carried them. */
  get keys(): CipherKeys {
    const held = this.keyPart();
    if (typeof held !== 'string') return { ck: held[0], ik: held[1] };
    const both = this.flags & HEX_KEYS ? Buffer.from(held, 'latin1').toString('hex') : held;
    return { ck: both.slice(0, both.length / 2), ik: both.slice(both.length / 2) };
  }

  /** `cipherKeys` without the IMPI that may lead it. */
  private keyPart(): string | readonly [string, string] {
    const held = this.cipherKeys;
    const length = this.flags >>> IMPI_LENGTH_SHIFT;
    return length === 0 || typeof held !== 'string' ? held : held.slice(length - 1);
  }

  private names(): readonly (string | undefined)[] {
    return this.flags & ODD_NAMES ? this.oddNames! : unpackNames(this.flags & NAMES_MASK);
  }

  /** RFC 3329 §2.3.1: the Security-Server sent, which Security-Verify must repeat. */
  get sent(): readonly SecurityMechanism[] {
    return [serverMechanism(this.pcscf)];
  }
}

/** Whether every character of `s` is Latin-1 (one byte in a string, and exactly so through Buffer's latin1). */
function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Whether `s` is lowercase hex digits, two a byte: what Buffer's hex codec gives back exactly. */
function isHexBytes(s: string): boolean {
  if (s.length % 2 !== 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isUint(n: number, max: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= max;
}

/** Ports are 16-bit (RFC 768, RFC 9293): two fit one signed 32-bit value exactly. */
function packPorts(e: IpsecEndpoint): number {
  return (e.portC << 16) | e.portS;
}
function portC(packed: number): number {
  return packed >>> 16;
}
function portS(packed: number): number {
  return packed & 0xffff;
}

/** TS 33.203 §7.2: prot and mod values, as the P-CSCF writes them. */
const PROTOCOLS = ['esp', 'ah'] as const;
const MODES = ['trans', 'tun', 'UDP-enc-tun'] as const;
/** The names each of the eight slots (offer alg, ealg, prot, mod, then the choice's) may take, at most three. */
const SLOT_NAMES: readonly (readonly string[])[] = [INTEGRITY_ALGORITHMS, ENCRYPTION_ALGORITHMS, PROTOCOLS, MODES, INTEGRITY_ALGORITHMS, ENCRYPTION_ALGORITHMS, PROTOCOLS, MODES];

/**
 * Two bits per slot: 0 for absent, 1–3 for a known name. A name outside TS 33.203 §7.2 (a handset's own, which
 * the choice never is but an offer may carry) keeps all eight as strings of their own.
 */
function packNames(names: readonly (string | undefined)[]): number | readonly (string | undefined)[] {
  let code = 0;
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name === undefined) continue;
    const at = SLOT_NAMES[i]!.indexOf(name);
    if (at < 0) return names.map((n, j) => (n === undefined ? undefined : known(n, SLOT_NAMES[j]!)));
    code |= (at + 1) << (2 * i);
  }
  return code;
}

function unpackNames(packed: number): readonly (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < SLOT_NAMES.length; i++) {
    const at = (packed >> (2 * i)) & 3;
    out.push(at === 0 ? undefined : SLOT_NAMES[i]![at - 1]);
  }
  return out;
}

/** One copy of each algorithm, protocol and mode name for every SA, not one per SA (issue 7). */
function known(name: string, names: readonly string[]): string {
  return names.find((n) => n === name) ?? ownString(name);
}

/**
 * An SA is found by the UE's address and its own SPIs (RFC 4301 §4.1: SPI plus destination identify an SA).
 * Joined rather than concatenated: a join is one flat string, where `+` makes a rope that a Map flattens into a
 * second string when it hashes it, and that a store would have to copy again to keep (issue 7).
 */
export function saKey(ueAddress: string, ue: { spiC: number; spiS: number }): string {
  return [ueAddress, ue.spiC, ue.spiS].join('|');
}

/** saKey of an SA, read from its fields without rebuilding its offer. */
export function saKeyOf(sa: SecurityAssociation): string {
  return sa instanceof HeldSecurityAssociation ? saKey(sa.ueAddress, sa.ueSpis()) : saKey(sa.ueAddress, sa.ue);
}

/** The UE's SPIs of `sa` (RFC 4301 §4.1: with its address, what identifies it), without rebuilding its offer. */
export function ueSpis(sa: SecurityAssociation): { spiC: number; spiS: number } {
  return sa instanceof HeldSecurityAssociation ? sa.ueSpis() : sa.ue;
}

/** Whether the UE's SPIs of `sa` are these (TS 33.203 §7.4), without rebuilding its offer. */
export function hasUeSpis(sa: SecurityAssociation, spis: { spiC: number; spiS: number }): boolean {
  const own = ueSpis(sa);
  return own.spiC === spis.spiC && own.spiS === spis.spiS;
}

/**
 * How long a pending SA waits for the protected REGISTER (TS 33.203 §7.1: the temporary SAs live as long as
 * the authentication may take; the S-CSCF's reg-await-auth is of the same order).
 */
export const PENDING_SA_LIFETIME_MS = 240_000;

/**
 * Pending SAs awaiting their protected REGISTER. SAs in use live with the registration that uses them.
 *
 * Every pending SA has the same lifetime, so the Map's insertion order is their order of expiry: one timer, armed
 * for the oldest, removes what is due and re-arms for the next, instead of a timer set and cancelled for each SA
 * (the 200 usually confirms an SA within milliseconds of the 401).
 */
export class PendingSecurityAssociations {
  private readonly pending = new Map<string, PendingEntry>();
  private timer: TimerHandle | undefined;

  constructor(private readonly clock: Clock) {}

  add(sa: SecurityAssociation): void {
    const key = saKeyOf(sa);
    // A new pair under the same SPIs replaces the old and goes to the back, with a lifetime of its own.
    this.pending.delete(key);
    this.pending.set(key, { sa, expiresAt: this.clock.now() + PENDING_SA_LIFETIME_MS });
    this.timer ??= this.clock.setTimeout(() => this.expire(), PENDING_SA_LIFETIME_MS);
  }

  get(ueAddress: string, ue: { spiC: number; spiS: number }): SecurityAssociation | undefined {
    return this.pending.get(saKey(ueAddress, ue))?.sa;
  }

  /** Removes `sa` if it is the pending one under its key. A timer armed for it stays, and finds nothing or the next. */
  delete(sa: SecurityAssociation): void {
    const key = saKeyOf(sa);
    if (this.pending.get(key)?.sa !== sa) return;
    this.pending.delete(key);
  }

  get size(): number {
    return this.pending.size;
  }

  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.pending.clear();
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (const [key, entry] of this.pending) {
      if (entry.expiresAt > now) {
        this.timer = this.clock.setTimeout(() => this.expire(), entry.expiresAt - now);
        return;
      }
      this.pending.delete(key);
    }
  }
}

interface PendingEntry {
  sa: SecurityAssociation;
  expiresAt: number;
}
