/**
 * The audio codecs a simulated UE can offer, and how an rtpmap/fmtp pair from the wire is matched to them.
 *
 * Static payload types come from RFC 3551 §6 (table 4): PCMU = 0, PCMA = 8, both 8000 Hz mono.
 * The others are dynamic (RFC 3551 §3) and are named by a=rtpmap: AMR-WB/16000 (RFC 4867 §8.1, octet-aligned
 * mode only, since that is what TS 26.114 §6.2.2 terminals offer first), opus/48000/2 (RFC 7587 §7: always
 * "/48000/2" whatever is really sent) and telephone-event (RFC 4733 §7.1.1, events 0-15 = DTMF).
 */
export type CodecName = 'PCMU' | 'PCMA' | 'AMR-WB' | 'opus' | 'telephone-event';

/** One payload format as agreed in SDP: the payload type number is per session, the rest is the codec. */
export interface Codec {
  payloadType: number;
  name: CodecName;
  clockRate: number;
  channels: number;
  /** The a=fmtp parameters, verbatim, when the format has any. */
  fmtp?: string;
}

interface CodecDefinition {
  name: CodecName;
  staticPayloadType?: number;
  clockRate: number;
  channels: number;
  fmtp?: string;
}

export const CODEC_TABLE: Readonly<Record<CodecName, CodecDefinition>> = {
  PCMU: { name: 'PCMU', staticPayloadType: 0, clockRate: 8000, channels: 1 },
  PCMA: { name: 'PCMA', staticPayloadType: 8, clockRate: 8000, channels: 1 },
  'AMR-WB': { name: 'AMR-WB', clockRate: 16000, channels: 1, fmtp: 'octet-align=1' },
  opus: { name: 'opus', clockRate: 48000, channels: 2 },
  'telephone-event': { name: 'telephone-event', clockRate: 8000, channels: 1, fmtp: '0-15' },
};

export const DEFAULT_CODECS: readonly CodecName[] = ['PCMU', 'PCMA', 'AMR-WB', 'opus', 'telephone-event'];

/** RFC 3551 §3: dynamic payload types are 96-127. */
export const FIRST_DYNAMIC_PAYLOAD_TYPE = 96;

/**
 * Payload types for an offer, in preference order. Audio codecs keep their table order; telephone-event is
 * offered once per clock rate among the audio codecs (8000 always, 16000 with AMR-WB): events travel in the
 * audio stream and share its timestamp clock (RFC 4733 §2.1), as TS 26.114 §6.2.3 terminals offer them.
 */
export function assignPayloadTypes(names: readonly CodecName[]): Codec[] {
  const out: Codec[] = [];
  let nextDynamic = FIRST_DYNAMIC_PAYLOAD_TYPE;
  const seen = new Set<CodecName>();
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const def = CODEC_TABLE[name];
    if (!def) throw new TypeError(`unknown codec ${String(name)}`);
    if (name === 'telephone-event') continue;
    const pt = def.staticPayloadType ?? nextDynamic++;
    out.push(codecFrom(def, pt));
  }
  if (seen.has('telephone-event')) {
    const rates = [...new Set(out.map((c) => c.clockRate).filter((r) => r === 8000 || r === 16000))];
    if (rates.length === 0) rates.push(8000);
    for (const rate of rates.sort((a, b) => a - b)) {
      out.push({ ...codecFrom(CODEC_TABLE['telephone-event'], nextDynamic++), clockRate: rate });
    }
  }
  return out;
}

function codecFrom(def: CodecDefinition, payloadType: number): Codec {
  const c: Codec = { payloadType, name: def.name, clockRate: def.clockRate, channels: def.channels };
  if (def.fmtp) c.fmtp = def.fmtp;
  return c;
}

/** One format of an m-line as read from SDP, before it is matched to a codec we know. */
export interface OfferedFormat {
  payloadType: number;
  encoding?: string;
  clockRate?: number;
  channels?: number;
  fmtp?: string;
}

/**
 * The codec a wire format stands for, if we can handle it; undefined otherwise.
 * Static types without rtpmap are resolved from RFC 3551; encoding names compare case-insensitively
 * (RFC 4855 §3). AMR-WB matches only in octet-aligned mode: RFC 4867 §8.3.1 makes octet-align a parameter
 * both sides must agree on, and bandwidth-efficient mode (the default when absent) is not supported here.
 */
export function matchCodec(f: OfferedFormat, supported: readonly CodecName[]): Codec | undefined {
  let name: CodecName | undefined;
  let clockRate = f.clockRate;
  let channels = f.channels ?? 1;
  if (f.encoding === undefined) {
    if (f.payloadType === 0) name = 'PCMU';
    else if (f.payloadType === 8) name = 'PCMA';
    else return undefined;
    clockRate = 8000;
  } else {
    name = canonicalName(f.encoding);
  }
  if (!name || !supported.includes(name)) return undefined;
  const def = CODEC_TABLE[name];
  if (name === 'telephone-event') {
    if (clockRate !== 8000 && clockRate !== 16000 && clockRate !== 48000) return undefined;
  } else if (clockRate !== def.clockRate || channels !== def.channels) {
    return undefined;
  }
  if (name === 'AMR-WB' && fmtpParam(f.fmtp, 'octet-align') !== '1') return undefined;
  const c: Codec = { payloadType: f.payloadType, name, clockRate: clockRate ?? def.clockRate, channels };
  const fmtp = f.fmtp ?? def.fmtp;
  if (fmtp) c.fmtp = fmtp;
  return c;
}

function canonicalName(encoding: string): CodecName | undefined {
  const lower = encoding.toLowerCase();
  for (const name of Object.keys(CODEC_TABLE) as CodecName[]) {
    if (name.toLowerCase() === lower) return name;
  }
  return undefined;
}

/** Value of one `name=value` parameter in an fmtp string (RFC 4566 §6: format-specific; ';'-separated here). */
export function fmtpParam(fmtp: string | undefined, name: string): string | undefined {
  if (!fmtp) return undefined;
  for (const part of fmtp.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim().toLowerCase() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
