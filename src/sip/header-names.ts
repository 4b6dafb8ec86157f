/**
 * Header names: RFC 3261 §7.3.3 compact forms and the canonical spelling imslab writes on the wire.
 * Names are case-insensitive (§7.3.1); known names are written canonically, unknown ones as received.
 */
const CANONICAL = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events',
  'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition',
  'Content-Encoding', 'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Error-Info',
  'Event', 'Expires', 'From', 'History-Info', 'Identity', 'Identity-Info', 'In-Reply-To', 'Max-Forwards',
  'MIME-Version', 'Min-Expires', 'Min-SE', 'Organization', 'P-Access-Network-Info', 'P-Asserted-Identity',
  'P-Associated-URI', 'P-Called-Party-ID', 'P-Charging-Function-Addresses', 'P-Charging-Vector',
  'P-Preferred-Identity', 'P-Visited-Network-ID', 'Path', 'Priority', 'Privacy', 'Proxy-Authenticate',
  'Proxy-Authorization', 'Proxy-Require', 'RAck', 'Reason', 'Record-Route', 'Refer-To', 'Referred-By',
  'Reject-Contact', 'Reply-To', 'Request-Disposition', 'Require', 'Retry-After', 'Route', 'RSeq',
  'Security-Client', 'Security-Server', 'Security-Verify', 'Server', 'Service-Route', 'Session-Expires',
  'SIP-ETag', 'SIP-If-Match', 'Subject', 'Subscription-State', 'Supported', 'Timestamp', 'To', 'Unsupported',
  'User-Agent', 'Via', 'Warning', 'WWW-Authenticate',
];

/** RFC 3261 §7.3.3 and later RFCs' compact forms (RFC 3265 o/u, RFC 3515 r, RFC 3841 a/d/j, RFC 4028 x, RFC 3892 b). */
const COMPACT: Record<string, string> = {
  a: 'Accept-Contact', b: 'Referred-By', c: 'Content-Type', d: 'Request-Disposition', e: 'Content-Encoding',
  f: 'From', i: 'Call-ID', j: 'Reject-Contact', k: 'Supported', l: 'Content-Length', m: 'Contact',
  n: 'Identity-Info', o: 'Event', r: 'Refer-To', s: 'Subject', t: 'To', u: 'Allow-Events', v: 'Via',
  x: 'Session-Expires', y: 'Identity',
};

const BY_LOWER = new Map<string, string>();
for (const n of CANONICAL) BY_LOWER.set(n.toLowerCase(), n);
for (const [c, n] of Object.entries(COMPACT)) BY_LOWER.set(c, n);

/** What a header name spelled exactly so resolves to. */
interface Resolved {
  readonly key: string;
  readonly canonical: string | undefined;
}

/**
 * Resolutions by the name exactly as written: every header of every message is looked up, and nearly all are
 * spelled canonically, in lowercase or compact. Buckets by length and first character hold those spellings,
 * so a known name costs one or two string comparisons: no lower-cased copy, no hashing of a string just cut
 * out of a datagram. Other spellings ("CALL-ID", "call-Id") take the general path.
 */
const MAX_FAST_LENGTH = 40;
// Filled up front: a packed array, not a sparse one V8 would keep as a dictionary.
const SPELLINGS: Array<Array<[string, Resolved]> | undefined> = new Array<undefined>((MAX_FAST_LENGTH + 1) << 7).fill(undefined);

function bucketOf(name: string): number {
  return (name.length << 7) | (name.charCodeAt(0) & 0x7f);
}

for (const [lower, canonical] of BY_LOWER) {
  const resolved: Resolved = { key: canonical.toLowerCase(), canonical };
  const spellings = new Set([lower, canonical, lower.length === 1 ? lower.toUpperCase() : canonical]);
  for (const spelling of spellings) {
    if (spelling.length > MAX_FAST_LENGTH) continue;
    (SPELLINGS[bucketOf(spelling)] ??= []).push([spelling, resolved]);
  }
}

function resolve(name: string): Resolved {
  if (name.length > 0 && name.length <= MAX_FAST_LENGTH) {
    const bucket = SPELLINGS[bucketOf(name)];
    if (bucket !== undefined) for (let i = 0; i < bucket.length; i++) if (bucket[i]![0] === name) return bucket[i]![1];
  }
  const lower = name.toLowerCase();
  const canonical = BY_LOWER.get(lower);
  return { key: canonical ? canonical.toLowerCase() : lower, canonical };
}

/** The canonical spelling of a header name (compact forms expanded); unknown names come back unchanged. */
export function canonicalHeaderName(name: string): string {
  return resolve(name).canonical ?? name;
}

/** The lookup key of a header name: lowercase, with compact forms expanded. */
export function headerKey(name: string): string {
  return resolve(name).key;
}

/**
 * Headers whose values are comma-separated lists (RFC 3261 §7.3.1): several header lines and one line with
 * commas mean the same. Headers whose grammar allows a bare comma inside a value (WWW-Authenticate and its
 * kin, Date, and anything unknown) are never split.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set(
  [
    'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Allow-Events',
    'Call-Info', 'Contact', 'Content-Encoding', 'Content-Language', 'Error-Info', 'History-Info', 'In-Reply-To',
    'P-Asserted-Identity', 'P-Associated-URI', 'P-Preferred-Identity', 'Path', 'Privacy', 'Proxy-Require',
    'Reason', 'Record-Route', 'Reject-Contact', 'Request-Disposition', 'Require', 'Route', 'Security-Client',
    'Security-Server', 'Security-Verify', 'Service-Route', 'Supported', 'Unsupported', 'Via', 'Warning',
  ].map((n) => n.toLowerCase()),
);
