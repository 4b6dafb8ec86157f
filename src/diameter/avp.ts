import { isIPv4, isIPv6 } from 'node:net';
import { defaultDictionary, type AvpDefinition, type AvpType, type Dictionary } from './dictionary/index.js';

/** AVP Flags (RFC 6733 §4.1). The low five bits are reserved. */
export const AvpFlags = {
  Vendor: 0x80,
  Mandatory: 0x40,
  Protected: 0x20,
} as const;
export const AVP_RESERVED_FLAGS = 0x1f;

/** AVP header size without (8) and with (12) the Vendor-ID field (RFC 6733 §4.1). */
export const AVP_HEADER_LENGTH = 8;
export const AVP_VENDOR_HEADER_LENGTH = 12;

/** IANA Address Family Numbers used by the Address type (RFC 6733 §4.3.1). */
export const AddressFamily = { IPv4: 1, IPv6: 2 } as const;

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
const NTP_UNIX_OFFSET = 2_208_988_800;

/** A value read from an AVP does not fit its declared type (RFC 6733 §7.1.5 DIAMETER_INVALID_AVP_VALUE). */
export class DiameterValueError extends Error {
  constructor(
    message: string,
    readonly avp: Avp,
  ) {
    super(message);
    this.name = 'DiameterValueError';
  }
}

export interface AddressValue {
  /** IANA address family: 1 IPv4, 2 IPv6, others kept as numbers. */
  family: number;
  /** Dotted quad, RFC 5952 IPv6 text, or hex of the raw bytes for other families. */
  address: string;
}

/**
 * One AVP (RFC 6733 §4.1). A non-grouped AVP is its raw payload (`data`, without padding): values are
 * converted only when asked for, so unknown AVPs, OctetStrings with arbitrary octets and values of
 * types we never read pass through unchanged. A Grouped AVP (§4.4) holds its children instead.
 */
export class Avp {
  constructor(
    public code: number,
    public flags: number,
    /** 0 when the V bit is clear (no Vendor-ID field). */
    public vendorId: number,
    /** The payload without padding. For a Grouped AVP built locally this is empty and `children` is used. */
    public data: Buffer,
    /** Children of a Grouped AVP; set on decode when the dictionary says the AVP is Grouped. */
    public children?: Avp[],
  ) {}

  get isVendorSpecific(): boolean {
    return (this.flags & AvpFlags.Vendor) !== 0;
  }
  get isMandatory(): boolean {
    return (this.flags & AvpFlags.Mandatory) !== 0;
  }
  get isProtected(): boolean {
    return (this.flags & AvpFlags.Protected) !== 0;
  }

  /** Header length on the wire: 12 with a Vendor-ID, 8 without. */
  get headerLength(): number {
    return this.flags & AvpFlags.Vendor ? AVP_VENDOR_HEADER_LENGTH : AVP_HEADER_LENGTH;
  }

  /** The AVP Length field: header plus payload, padding excluded (RFC 6733 §4.1). */
  get length(): number {
    return this.headerLength + this.payloadLength();
  }

  /** Payload octets without the trailing padding. */
  payloadLength(): number {
    if (!this.children) return this.data.length;
    let n = 0;
    // Each child is padded to 4 octets inside the group (RFC 6733 §4.4), so the group is a multiple of 4.
    for (const c of this.children) n += paddedLength(c.length);
    return n;
  }

  asBytes(): Buffer {
    return this.data;
  }

  /** UTF8String, DiameterIdentity, DiameterURI, or an OctetString the caller knows to be text. */
  asString(): string {
    return this.data.toString('utf8');
  }

  asU32(): number {
    this.expectLength(4, 'Unsigned32');
    return this.data.readUInt32BE(0);
  }
  asI32(): number {
    this.expectLength(4, 'Integer32');
    return this.data.readInt32BE(0);
  }
  asU64(): bigint {
    this.expectLength(8, 'Unsigned64');
    return this.data.readBigUInt64BE(0);
  }
  asI64(): bigint {
    this.expectLength(8, 'Integer64');
    return this.data.readBigInt64BE(0);
  }
  asF32(): number {
    this.expectLength(4, 'Float32');
    return this.data.readFloatBE(0);
  }
  asF64(): number {
    this.expectLength(8, 'Float64');
    return this.data.readDoubleBE(0);
  }
  /** Enumerated is Integer32 on the wire (RFC 6733 §4.3.1). */
  asEnum(): number {
    return this.asI32();
  }

  /** Address (RFC 6733 §4.3.1): 2 octets of address family, then the address. */
  asAddress(): AddressValue {
    const d = this.data;
    if (d.length < 2) throw new DiameterValueError(`AVP ${this.code}: Address shorter than its family field`, this);
    const family = d.readUInt16BE(0);
    const raw = d.subarray(2);
    if (family === AddressFamily.IPv4) {
      if (raw.length !== 4) throw new DiameterValueError(`AVP ${this.code}: IPv4 Address of ${raw.length} octets`, this);
      return { family, address: `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}` };
    }
    if (family === AddressFamily.IPv6) {
      if (raw.length !== 16) throw new DiameterValueError(`AVP ${this.code}: IPv6 Address of ${raw.length} octets`, this);
      return { family, address: formatIPv6(raw) };
    }
    return { family, address: raw.toString('hex') };
  }

  /**
   * Time (RFC 6733 §4.3.1): NTP seconds since 1900. Values with the top bit clear are in the era after
   * 2036-02-07, as RFC 6733 prescribes through RFC 5905/SNTP's rollover rule.
   */
  asTime(): Date {
    this.expectLength(4, 'Time');
    const s = this.data.readUInt32BE(0);
    const ntp = s & 0x8000_0000 ? s : s + 0x1_0000_0000;
    return new Date((ntp - NTP_UNIX_OFFSET) * 1000);
  }

  /** Children of a Grouped AVP, decoding the payload on first use if the dictionary did not know the AVP. */
  asGrouped(): Avp[] {
    if (!this.children) this.children = decodeAvpList(this.data, 0, this.data.length, defaultDictionary);
    return this.children;
  }

  /** The first child with this code and Vendor-ID. */
  get(code: number, vendorId = 0): Avp | undefined {
    for (const c of this.asGrouped()) if (c.code === code && c.vendorId === vendorId) return c;
    return undefined;
  }

  getAll(code: number, vendorId = 0): Avp[] {
    return this.asGrouped().filter((c) => c.code === code && c.vendorId === vendorId);
  }

  private expectLength(n: number, type: string): void {
    if (this.data.length !== n) {
      throw new DiameterValueError(`AVP ${this.code}: ${type} needs ${n} octets, has ${this.data.length}`, this);
    }
  }
}

export function paddedLength(n: number): number {
  return (n + 3) & ~3;
}

/** A value a builder accepts for each type. OctetString takes a Buffer (or a string, sent as UTF-8). */
export type AvpValue = string | number | bigint | Buffer | Date | AddressValue | Avp[];

export interface AvpOptions {
  /** Vendor-ID; with a numeric code it selects the definition, and sets the V bit when non-zero. */
  vendor?: number;
  /** Overrides the M bit the dictionary prescribes. */
  mandatory?: boolean;
  protected?: boolean;
  /** Needed when the code is not in the dictionary. */
  type?: AvpType;
  dictionary?: Dictionary;
}

/**
 * Builds an AVP from a name or code, taking type and flag bits from the dictionary:
 * `avp('Session-Id', 'hss.ims;1;2')`, `avp(601, 'sip:alice@ims', { vendor: 10415 })`,
 * `avp('SIP-Auth-Data-Item', [avp('SIP-Authenticate', randAutn)])`.
 */
export function avp(nameOrCode: string | number | AvpDefinition, value: AvpValue, opts: AvpOptions = {}): Avp {
  const dict = opts.dictionary ?? defaultDictionary;
  let def: AvpDefinition | undefined;
  if (typeof nameOrCode === 'string') def = dict.requireAvp(nameOrCode);
  else if (typeof nameOrCode === 'number') def = dict.avp(nameOrCode, opts.vendor ?? 0);
  else def = nameOrCode;

  const code = typeof nameOrCode === 'number' ? nameOrCode : def!.code;
  const vendorId = opts.vendor ?? def?.vendorId ?? 0;
  const type = opts.type ?? def?.type;
  if (!type) throw new Error(`avp(${code}, vendor ${vendorId}): not in the dictionary; pass { type }`);

  let flags = 0;
  if (vendorId !== 0) flags |= AvpFlags.Vendor;
  const mandatory = opts.mandatory ?? (def ? def.must.includes('M') : false);
  if (mandatory) flags |= AvpFlags.Mandatory;
  if (opts.protected) flags |= AvpFlags.Protected;

  if (type === 'Grouped') {
    if (!Array.isArray(value)) throw new TypeError(`avp ${def?.name ?? code}: Grouped needs an array of AVPs`);
    return new Avp(code, flags, vendorId, EMPTY, value);
  }
  return new Avp(code, flags, vendorId, encodeValue(type, value, def?.name ?? String(code)));
}

const EMPTY = Buffer.alloc(0);

/** Converts a typed value to its payload octets (RFC 6733 §4.2, §4.3.1). */
export function encodeValue(type: AvpType, value: AvpValue, label = 'AVP'): Buffer {
  switch (type) {
    case 'OctetString':
      if (Buffer.isBuffer(value)) return value;
      if (typeof value === 'string') return Buffer.from(value, 'utf8');
      break;
    case 'UTF8String':
    case 'DiameterIdentity':
    case 'DiameterURI':
      if (typeof value === 'string') return Buffer.from(value, 'utf8');
      if (Buffer.isBuffer(value)) return value;
      break;
    case 'Unsigned32':
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff) {
        const b = Buffer.allocUnsafe(4);
        b.writeUInt32BE(value, 0);
        return b;
      }
      break;
    case 'Integer32':
    case 'Enumerated':
      if (typeof value === 'number' && Number.isInteger(value) && value >= -0x8000_0000 && value <= 0x7fff_ffff) {
        const b = Buffer.allocUnsafe(4);
        b.writeInt32BE(value, 0);
        return b;
      }
      break;
    case 'Unsigned64':
      if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
        const b = Buffer.allocUnsafe(8);
        b.writeBigUInt64BE(BigInt(value), 0);
        return b;
      }
      break;
    case 'Integer64':
      if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) {
        const b = Buffer.allocUnsafe(8);
        b.writeBigInt64BE(BigInt(value), 0);
        return b;
      }
      break;
    case 'Float32':
      if (typeof value === 'number') {
        const b = Buffer.allocUnsafe(4);
        b.writeFloatBE(value, 0);
        return b;
      }
      break;
    case 'Float64':
      if (typeof value === 'number') {
        const b = Buffer.allocUnsafe(8);
        b.writeDoubleBE(value, 0);
        return b;
      }
      break;
    case 'Time': {
      const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : NaN;
      if (Number.isFinite(ms)) {
        // NTP seconds modulo 2^32: the era rolls over in 2036 (RFC 6733 §4.3.1).
        const b = Buffer.allocUnsafe(4);
        b.writeUInt32BE((Math.floor(ms / 1000) + NTP_UNIX_OFFSET) % 0x1_0000_0000, 0);
        return b;
      }
      break;
    }
    case 'Address':
      return encodeAddress(value, label);
    case 'Grouped':
      break;
  }
  throw new TypeError(`${label}: cannot encode ${describe(value)} as ${type}`);
}

function encodeAddress(value: AvpValue, label: string): Buffer {
  const text = typeof value === 'string' ? value : isAddressValue(value) ? value.address : undefined;
  if (text !== undefined && isIPv4(text)) {
    const b = Buffer.allocUnsafe(6);
    b.writeUInt16BE(AddressFamily.IPv4, 0);
    const parts = text.split('.');
    for (let i = 0; i < 4; i++) b[2 + i] = Number(parts[i]);
    return b;
  }
  if (text !== undefined && isIPv6(text)) {
    const b = Buffer.allocUnsafe(18);
    b.writeUInt16BE(AddressFamily.IPv6, 0);
    parseIPv6(text).copy(b, 2);
    return b;
  }
  if (isAddressValue(value) && /^(?:[0-9a-f]{2})*$/i.test(value.address)) {
    const raw = Buffer.from(value.address, 'hex');
    const b = Buffer.allocUnsafe(2 + raw.length);
    b.writeUInt16BE(value.family, 0);
    raw.copy(b, 2);
    return b;
  }
  throw new TypeError(`${label}: "${describe(value)}" is not an IPv4 or IPv6 address`);
}

function isAddressValue(v: AvpValue): v is AddressValue {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v) && !(v instanceof Date) && 'family' in v;
}

function describe(v: AvpValue): string {
  if (Buffer.isBuffer(v)) return `Buffer(${v.length})`;
  if (Array.isArray(v)) return `AVP list(${v.length})`;
  return typeof v === 'object' ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}

function parseIPv6(text: string): Buffer {
  const out = Buffer.alloc(16);
  let s = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const p = tail.split('.').map(Number);
    s = `${s.slice(0, lastColon + 1)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const ts = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? hs : [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(parseInt(groups[i] ?? '0', 16), i * 2);
  return out;
}

/** RFC 5952 text: lowercase, longest run of zero groups (≥ 2) compressed. */
function formatIPv6(raw: Buffer): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(raw.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return g.map((x) => x.toString(16)).join(':');
  const left = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const right = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${left}::${right}`;
}

/**
 * Error found while decoding, with the Result-Code to answer (RFC 6733 §7.1) and, for AVP errors,
 * the offending AVP for Failed-AVP (§7.5).
 */
export class DiameterDecodeError extends Error {
  constructor(
    message: string,
    readonly resultCode: number,
    readonly failedAvp?: Avp,
  ) {
    super(message);
    this.name = 'DiameterDecodeError';
  }
}

/** Fixed payload sizes of the basic types (RFC 6733 §4.2); a mismatch is DIAMETER_INVALID_AVP_LENGTH. */
const FIXED_SIZE: Partial<Record<AvpType, number>> = {
  Integer32: 4,
  Integer64: 8,
  Unsigned32: 4,
  Unsigned64: 8,
  Float32: 4,
  Float64: 8,
  Enumerated: 4,
  Time: 4,
};

/**
 * Decodes the AVPs in buf[start, end). Grouped AVPs the dictionary knows are decoded recursively;
 * unknown AVPs are kept raw. Payloads are views into `buf`, not copies.
 */
export function decodeAvpList(buf: Buffer, start: number, end: number, dict: Dictionary, depth = 0): Avp[] {
  const out: Avp[] = [];
  let off = start;
  while (off < end) {
    if (end - off < AVP_HEADER_LENGTH) {
      const stub = new Avp(0, 0, 0, buf.subarray(off, end));
      throw new DiameterDecodeError(`AVP header truncated: ${end - off} octets left`, 5014, stub);
    }
    const code = buf.readUInt32BE(off);
    const flags = buf[off + 4]!;
    const length = (buf[off + 5]! << 16) | (buf[off + 6]! << 8) | buf[off + 7]!;
    const hasVendor = (flags & AvpFlags.Vendor) !== 0;
    const header = hasVendor ? AVP_VENDOR_HEADER_LENGTH : AVP_HEADER_LENGTH;
    const vendorId = hasVendor && end - off >= AVP_VENDOR_HEADER_LENGTH ? buf.readUInt32BE(off + 8) : 0;
    if (length < header || off + length > end) {
      // §7.5: for DIAMETER_INVALID_AVP_LENGTH, Failed-AVP carries the AVP as received, as far as it goes.
      const stub = new Avp(code, flags, vendorId, buf.subarray(Math.min(off + header, end), Math.min(off + Math.max(length, header), end)));
      throw new DiameterDecodeError(`AVP ${code}: length ${length} does not fit (${end - off} octets left)`, 5014, stub);
    }
    const data = buf.subarray(off + header, off + length);
    const a = new Avp(code, flags, vendorId, data);
    if (flags & AVP_RESERVED_FLAGS) {
      throw new DiameterDecodeError(`AVP ${code}: reserved flag bits set (0x${flags.toString(16)})`, 3009, a);
    }
    const def = dict.avp(code, vendorId);
    if (def) {
      const fixed = FIXED_SIZE[def.type];
      if (fixed !== undefined && data.length !== fixed) {
        throw new DiameterDecodeError(`${def.name}: ${def.type} of ${data.length} octets`, 5014, a);
      }
      if (def.type === 'Address' && data.length < 2) {
        throw new DiameterDecodeError(`${def.name}: Address of ${data.length} octets`, 5014, a);
      }
      if (def.type === 'Grouped') {
        if (depth > 16) throw new DiameterDecodeError(`${def.name}: Grouped nested deeper than 16`, 5004, a);
        a.children = decodeAvpList(buf, off + header, off + length, dict, depth + 1);
      }
    }
    out.push(a);
    off += paddedLength(length);
  }
  return out;
}

/** Writes one AVP (with padding, zero-filled) at `off`; returns the offset after it. */
export function writeAvp(buf: Buffer, off: number, a: Avp): number {
  const hasVendor = (a.flags & AvpFlags.Vendor) !== 0;
  const header = hasVendor ? AVP_VENDOR_HEADER_LENGTH : AVP_HEADER_LENGTH;
  const payload = a.payloadLength();
  const length = header + payload;
  buf.writeUInt32BE(a.code, off);
  buf[off + 4] = a.flags;
  buf[off + 5] = (length >>> 16) & 0xff;
  buf[off + 6] = (length >>> 8) & 0xff;
  buf[off + 7] = length & 0xff;
  if (hasVendor) buf.writeUInt32BE(a.vendorId, off + 8);
  let p = off + header;
  if (a.children) {
    for (const c of a.children) p = writeAvp(buf, p, c);
  } else {
    a.data.copy(buf, p);
    p += a.data.length;
  }
  const end = off + paddedLength(length);
  while (p < end) buf[p++] = 0;
  return end;
}

export function encodeAvp(a: Avp): Buffer {
  const buf = Buffer.allocUnsafe(paddedLength(a.length));
  writeAvp(buf, 0, a);
  return buf;
}

/** A zero-filled AVP of the minimum size for its type: how Failed-AVP names a missing AVP (RFC 6733 §7.5). */
export function missingAvpStub(code: number, vendorId: number, dict: Dictionary = defaultDictionary): Avp {
  const def = dict.avp(code, vendorId);
  const size = def ? MIN_SIZE[def.type] ?? 0 : 0;
  const flags = (vendorId ? 0x80 : 0) | (def?.must.includes('M') ? 0x40 : 0);
  return def?.type === 'Grouped' ? new Avp(code, flags, vendorId, Buffer.alloc(0), []) : new Avp(code, flags, vendorId, Buffer.alloc(size));
}

const MIN_SIZE: Record<string, number> = {
  Integer32: 4,
  Unsigned32: 4,
  Enumerated: 4,
  Time: 4,
  Float32: 4,
  Integer64: 8,
  Unsigned64: 8,
  Float64: 8,
  Address: 6,
};
