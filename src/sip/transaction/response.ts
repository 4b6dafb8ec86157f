import { Headers, SipResponse, type SipRequest } from '../message.js';
import { parseNameAddr } from '../headers/name-addr.js';

/** Reason phrases of RFC 3261 §21 and the few later codes imslab sends. */
const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  200: 'OK', 202: 'Accepted',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  410: 'Gone', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long', 415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme', 420: 'Bad Extension', 421: 'Extension Required', 423: 'Interval Too Brief',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected',
  483: 'Too Many Hops', 484: 'Address Incomplete', 485: 'Ambiguous', 486: 'Busy Here', 487: 'Request Terminated',
  488: 'Not Acceptable Here', 491: 'Request Pending', 493: 'Undecipherable', 494: 'Security Agreement Required',
  500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large',
  600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? REASONS[Math.floor(status / 100) * 100] ?? 'Unknown';
}

/**
 * A response to `request` per RFC 3261 §8.2.6.2: Via (all values, in order), From, To, Call-ID and CSeq
 * copied, Timestamp echoed for 100 (§8.2.6.1). A To tag is added when given and the request had none;
 * 100 (Trying) never needs one.
 */
export function createResponse(request: SipRequest, status: number, reason = reasonPhrase(status), toTag?: string): SipResponse {
  const h = new Headers();
  const lines = request.headers;
  for (let i = 0; i < lines.size; i++) {
    const key = lines.keyAt(i);
    if (key === 'via' || key === 'from' || key === 'call-id' || key === 'cseq') h.append(lines.nameAt(i), lines.valueAt(i));
    else if (key === 'to') {
      const value = lines.valueAt(i);
      h.append(lines.nameAt(i), toTag !== undefined && !hasTag(value) ? `${value};tag=${toTag}` : value);
    } else if (key === 'timestamp' && status === 100) h.append(lines.nameAt(i), lines.valueAt(i));
  }
  return new SipResponse(status, reason, h);
}

/** Whether a From/To value carries a tag parameter. */
export function hasTag(nameAddr: string): boolean {
  return tagOf(nameAddr) !== undefined;
}

/** The tag of a From or To value (§19.3), or undefined when absent or unreadable (never throws). */
export function tagOf(nameAddr: string | undefined): string | undefined {
  if (nameAddr === undefined) return undefined;
  try {
    return parseNameAddr(nameAddr).tag;
  } catch {
    return undefined;
  }
}
