import { avp, type Avp, type AvpOptions, type AvpValue } from './avp.js';

/** Command Flags (RFC 6733 §3). The low four bits are reserved. */
export const CommandFlags = {
  Request: 0x80,
  Proxiable: 0x40,
  Error: 0x20,
  Retransmitted: 0x10,
} as const;

export const DIAMETER_HEADER_LENGTH = 20;
export const DIAMETER_VERSION = 1;

export interface DiameterMessageInit {
  commandCode: number;
  applicationId: number;
  flags?: number;
  hopByHop?: number;
  endToEnd?: number;
  avps?: Avp[];
}

/** Codes of base AVPs the message model reads itself (RFC 6733 §4.5). */
const SESSION_ID = 263;
const ORIGIN_HOST = 264;
const ORIGIN_REALM = 296;
const RESULT_CODE = 268;
const EXPERIMENTAL_RESULT = 297;
const EXPERIMENTAL_RESULT_CODE = 298;
const VENDOR_ID = 266;

/** A Diameter message (RFC 6733 §3): the 20-octet header and the AVPs in order. */
export class DiameterMessage {
  version = DIAMETER_VERSION;
  flags: number;
  commandCode: number;
  applicationId: number;
  /** Unique per connection at the sender, copied unchanged into the answer (§3). */
  hopByHop: number;
  /** Unique per originator for at least 4 minutes; used to detect duplicates (§3, §6.2). */
  endToEnd: number;
  avps: Avp[];

  constructor(init: DiameterMessageInit) {
    this.commandCode = init.commandCode;
    this.applicationId = init.applicationId;
    this.flags = init.flags ?? 0;
    this.hopByHop = init.hopByHop ?? 0;
    this.endToEnd = init.endToEnd ?? 0;
    this.avps = init.avps ?? [];
  }

  static request(commandCode: number, applicationId: number, avps: Avp[] = [], proxiable = true): DiameterMessage {
    const flags = CommandFlags.Request | (proxiable ? CommandFlags.Proxiable : 0);
    return new DiameterMessage({ commandCode, applicationId, flags, avps });
  }

  /**
   * An answer to `req` (RFC 6733 §6.2): same command code, application, hop-by-hop and end-to-end
   * identifiers and P bit, R bit cleared; Session-Id copied first when the request had one (§8.8).
   */
  static answerTo(req: DiameterMessage, avps: Avp[] = []): DiameterMessage {
    const ans = new DiameterMessage({
      commandCode: req.commandCode,
      applicationId: req.applicationId,
      flags: req.flags & CommandFlags.Proxiable,
      hopByHop: req.hopByHop,
      endToEnd: req.endToEnd,
    });
    const sid = req.get(SESSION_ID);
    if (sid && !avps.some((a) => a.code === SESSION_ID && a.vendorId === 0)) ans.avps.push(sid);
    ans.avps.push(...avps);
    return ans;
  }

  get isRequest(): boolean {
    return (this.flags & CommandFlags.Request) !== 0;
  }
  get isProxiable(): boolean {
    return (this.flags & CommandFlags.Proxiable) !== 0;
  }
  get isError(): boolean {
    return (this.flags & CommandFlags.Error) !== 0;
  }
  get isRetransmitted(): boolean {
    return (this.flags & CommandFlags.Retransmitted) !== 0;
  }

  /** The first top-level AVP with this code and Vendor-ID. */
  get(code: number, vendorId = 0): Avp | undefined {
    for (const a of this.avps) if (a.code === code && a.vendorId === vendorId) return a;
    return undefined;
  }

  getAll(code: number, vendorId = 0): Avp[] {
    const out: Avp[] = [];
    for (const a of this.avps) if (a.code === code && a.vendorId === vendorId) out.push(a);
    return out;
  }

  has(code: number, vendorId = 0): boolean {
    return this.get(code, vendorId) !== undefined;
  }

  add(...avps: Avp[]): this {
    this.avps.push(...avps);
    return this;
  }

  /** Builds and appends an AVP through the dictionary: `msg.set('User-Name', 'alice@ims')`. */
  addValue(nameOrCode: string | number, value: AvpValue, opts?: AvpOptions): this {
    this.avps.push(avp(nameOrCode, value, opts));
    return this;
  }

  get sessionId(): string | undefined {
    return this.get(SESSION_ID)?.asString();
  }
  get originHost(): string | undefined {
    return this.get(ORIGIN_HOST)?.asString();
  }
  get originRealm(): string | undefined {
    return this.get(ORIGIN_REALM)?.asString();
  }

  /** The base Result-Code (RFC 6733 §7.1), if present. */
  get resultCode(): number | undefined {
    return this.get(RESULT_CODE)?.asU32();
  }

  /** Experimental-Result (RFC 6733 §7.6): vendor-specific result, e.g. TS 29.229 §6.2 codes. */
  get experimentalResult(): { vendorId: number; code: number } | undefined {
    const er = this.get(EXPERIMENTAL_RESULT);
    if (!er) return undefined;
    const code = er.get(EXPERIMENTAL_RESULT_CODE)?.asU32();
    if (code === undefined) return undefined;
    return { vendorId: er.get(VENDOR_ID)?.asU32() ?? 0, code };
  }
}
