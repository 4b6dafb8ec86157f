import { headerKey } from '../sip/header-names.js';

/**
 * Just enough reading of captured bytes for the trace views: a SIP start line and header fields, a Diameter
 * header and its result codes. Views must never throw on what a node sent, so every reader here returns
 * undefined for bytes it does not understand instead of failing.
 */

export interface SipPeek {
  /** The start line as sent, e.g. "REGISTER sip:ims.example.org SIP/2.0" or "SIP/2.0 401 Unauthorized". */
  startLine: string;
  method?: string;
  requestUri?: string;
  status?: number;
  reasonPhrase?: string;
  /** Header values by lookup key (lowercase, compact forms expanded), in order. */
  headers: Map<string, string[]>;
  bodyLength: number;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');

export function peekSip(bytes: Buffer): SipPeek | undefined {
  const end = bytes.indexOf(CRLF_CRLF);
  const head = bytes.subarray(0, end < 0 ? Math.min(bytes.length, 8192) : end).toString('latin1');
  const lines = head.split(/\r?\n/);
  const startLine = lines[0] ?? '';
  let method: string | undefined;
  let requestUri: string | undefined;
  let status: number | undefined;
  let reasonPhrase: string | undefined;
  if (startLine.startsWith('SIP/2.0 ')) {
    const code = Number(startLine.slice(8, 11));
    if (!Number.isInteger(code) || code < 100 || code > 699) return undefined;
    status = code;
    reasonPhrase = startLine.slice(12);
  } else {
    const sp1 = startLine.indexOf(' ');
    const sp2 = startLine.lastIndexOf(' ');
    if (sp1 <= 0 || sp2 <= sp1 || !startLine.endsWith('SIP/2.0')) return undefined;
    method = startLine.slice(0, sp1);
    requestUri = startLine.slice(sp1 + 1, sp2);
  }
  const headers = new Map<string, string[]>();
  let last: string[] | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break;
    // RFC 3261 §7.3.1: a line starting with whitespace continues the previous header field.
    if ((line[0] === ' ' || line[0] === '\t') && last) {
      last[last.length - 1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = headerKey(line.slice(0, colon).trim());
    let list = headers.get(key);
    if (!list) headers.set(key, (list = []));
    list.push(line.slice(colon + 1).trim());
    last = list;
  }
  return {
    startLine,
    ...(method !== undefined ? { method, requestUri } : {}),
    ...(status !== undefined ? { status, reasonPhrase } : {}),
    headers,
    bodyLength: end < 0 ? 0 : bytes.length - end - 4,
  };
}

export function sipHeader(p: SipPeek, name: string): string | undefined {
  return p.headers.get(headerKey(name))?.[0];
}

/** The method a response answers, from CSeq (RFC 3261 §8.1.1.5). */
export function cseqMethod(p: SipPeek): string | undefined {
  const v = sipHeader(p, 'CSeq');
  if (!v) return undefined;
  const sp = v.lastIndexOf(' ');
  return sp < 0 ? undefined : v.slice(sp + 1).trim();
}

export interface DiameterPeek {
  commandCode: number;
  request: boolean;
  applicationId: number;
  hopByHop: number;
  endToEnd: number;
  /** Result-Code (268, RFC 6733 §7.1). */
  resultCode?: number;
  /** Experimental-Result-Code (298) inside Experimental-Result (297), TS 29.229 §6.2. */
  experimentalResultCode?: number;
  /** Server-Name (602), in UAA/LIA/SAR. */
  serverName?: string;
  /** User-Name (1), the IMPI. */
  userName?: string;
  /** Server-Assignment-Type (614) in SAR: 1 REGISTRATION, 5 USER_DEREGISTRATION … (TS 29.229 §6.3.15). */
  serverAssignmentType?: number;
  /** User-Authorization-Type (623) in UAR: 0 REGISTRATION, 1 DE_REGISTRATION, 2 REGISTRATION_AND_CAPABILITIES. */
  userAuthorizationType?: number;
  /** Deregistration-Reason/Reason-Code (616) in RTR. */
  reasonCode?: number;
}

/** RFC 6733 §3: version 1, 24-bit length, flags, 24-bit command code, application, hop-by-hop, end-to-end. */
export function peekDiameter(bytes: Buffer): DiameterPeek | undefined {
  if (bytes.length < 20 || bytes[0] !== 1) return undefined;
  const length = bytes.readUIntBE(1, 3);
  if (length < 20 || length > bytes.length) return undefined;
  const out: DiameterPeek = {
    commandCode: bytes.readUIntBE(5, 3),
    request: (bytes[4]! & 0x80) !== 0,
    applicationId: bytes.readUInt32BE(8),
    hopByHop: bytes.readUInt32BE(12),
    endToEnd: bytes.readUInt32BE(16),
  };
  walkAvps(bytes, 20, length, out);
  return out;
}

function walkAvps(b: Buffer, start: number, end: number, out: DiameterPeek): void {
  let i = start;
  while (i + 8 <= end) {
    const code = b.readUInt32BE(i);
    const flags = b[i + 4]!;
    const len = b.readUIntBE(i + 5, 3);
    const header = flags & 0x80 ? 12 : 8; // V bit: a Vendor-ID follows (RFC 6733 §4.1)
    if (len < header || i + len > end) return;
    const data = i + header;
    const dataEnd = i + len;
    if (code === 268 && dataEnd - data === 4) out.resultCode = b.readUInt32BE(data);
    else if (code === 298 && dataEnd - data === 4) out.experimentalResultCode = b.readUInt32BE(data);
    else if (code === 297) walkAvps(b, data, dataEnd, out);
    else if (code === 602 && header === 12) out.serverName = b.toString('utf8', data, dataEnd);
    else if (code === 1) out.userName = b.toString('utf8', data, dataEnd);
    else if (code === 614 && header === 12 && dataEnd - data === 4) out.serverAssignmentType = b.readUInt32BE(data);
    else if (code === 615 && header === 12) walkAvps(b, data, dataEnd, out);
    else if (code === 616 && header === 12 && dataEnd - data === 4) out.reasonCode = b.readUInt32BE(data);
    else if (code === 623 && header === 12 && dataEnd - data === 4) out.userAuthorizationType = b.readUInt32BE(data);
    i += (len + 3) & ~3;
  }
}
