/**
 * The shape of dictionary entries (RFC 6733 §4.2 basic and §4.3 derived AVP data formats, §4.5 flag rules,
 * §3.2 Command Code Format). Facts live in base.ts and cx.ts; the codec and the peer read them through
 * the Dictionary in index.ts.
 */
export type AvpType =
  | 'OctetString'
  | 'UTF8String'
  | 'DiameterIdentity'
  | 'DiameterURI'
  | 'Integer32'
  | 'Integer64'
  | 'Unsigned32'
  | 'Unsigned64'
  | 'Float32'
  | 'Float64'
  | 'Address'
  | 'Time'
  | 'Enumerated'
  | 'Grouped';

export type AvpFlagName = 'V' | 'M' | 'P';

export interface AvpDefinition {
  name: string;
  code: number;
  /** 0 for IETF AVPs (no Vendor-ID field on the wire). */
  vendorId: number;
  type: AvpType;
  /** Flag bits the sender MUST set (RFC 6733 §4.5 table, TS 29.229 Table 6.3.1). */
  must: readonly AvpFlagName[];
  /** Flag bits the sender MUST NOT set. */
  mustNot: readonly AvpFlagName[];
  /** Values of an Enumerated AVP, or named bits of a bit mask. */
  values?: Readonly<Record<number, string>>;
  /** Where the AVP is defined, for people reading a trace. */
  clause?: string;
}

/** One line of a CCF: `{AVP}` required, `[AVP]` optional, `*` repeatable, `<AVP>` fixed position. */
export interface AvpRule {
  name: string;
  required: boolean;
  /** Fixed position first (`< Session-Id >`). */
  first?: boolean;
  /** May occur more than once. */
  repeated?: boolean;
}

export interface CommandDefinition {
  code: number;
  /** e.g. "Multimedia-Auth"; the request is "<name>-Request" (MAR), the answer "<name>-Answer" (MAA). */
  name: string;
  requestAbbrev: string;
  answerAbbrev: string;
  /** 0 for the base protocol (RFC 6733 §2.4). */
  applicationId: number;
  proxiable: boolean;
  request: readonly AvpRule[];
  answer: readonly AvpRule[];
  clause?: string;
}

/** Shorthand to write rules as in a CCF: "<Session-Id>", "{Origin-Host}", "[User-Name]", "*[Public-Identity]". */
export function rules(...ccf: string[]): AvpRule[] {
  return ccf.map((line) => {
    let s = line.trim();
    let repeated = false;
    if (s.startsWith('*')) {
      repeated = true;
      s = s.slice(1).trim();
    }
    const open = s[0];
    const name = s.slice(1, -1).trim();
    if (open === '<') return { name, required: true, first: true };
    if (open === '{') return { name, required: true, repeated };
    if (open === '[') return { name, required: false, repeated };
    throw new Error(`dictionary: bad CCF rule "${line}"`);
  });
}
