import { Headers, SipResponse, type SipRequest } from '../message.js';
import type { PartialMessage } from '../parser.js';
import { formatVia, parseVia, type Via } from '../headers/via.js';
import { parseCSeq } from '../headers/cseq.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { quote } from '../headers/lexical.js';
import { canonicalHost, defaultPort, ipFamily, stripBrackets } from './address.js';
import type { TransportAddress, TransportProtocol } from './types.js';

/**
 * The transport layer's own reading of messages (RFC 3261 §18.1.2, §18.2.1, §18.2.2; RFC 3581), kept free of
 * sockets so each rule can be tested on its own.
 */

/** Headers without which no response can be built and no transaction matched (§8.1.1, §8.2.6.2). */
export const ESSENTIAL_HEADERS = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;

/** The first essential header a message lacks, if any. */
export function missingEssential(m: { headers: Headers }): string | undefined {
  for (const h of ESSENTIAL_HEADERS) if (!m.headers.has(h)) return h;
  return undefined;
}

/**
 * §18.2.1: a server transport adds `received` to the top Via when sent-by differs from the packet's source
 * address; RFC 3581 §4: when the request asks with an empty `rport`, it fills in the source port and adds
 * `received` even if the address matches. Returns the stamped Via; throws SipParseError if the Via is bad.
 */
export function stampReceived(headers: Headers, source: TransportAddress): Via {
  const first = headers.first('Via');
  if (first === undefined) throw new Error('Missing Via');
  const via = parseVia(first);
  let changed = false;
  const src = canonicalHost(source.address);
  if (via.rport === null) {
    via.rport = source.port;
    via.received = source.address;
    changed = true;
  } else if (canonicalHost(via.host) !== src) {
    via.received = source.address;
    changed = true;
  }
  if (changed) {
    headers.shift('Via');
    headers.prepend('Via', formatVia(via));
  }
  return via;
}

/** What the client side of this node writes into Via sent-by, so responses can be recognised (§18.1.2). */
export interface SentByIdentity {
  /** Host names and addresses this node puts in sent-by. */
  hosts: readonly string[];
  /** Ports it listens on per transport. */
  ports: Partial<Record<TransportProtocol, number>>;
}

/** §18.1.2: whether a response's top Via is one this node would have inserted. */
export function isOwnSentBy(via: Via, own: SentByIdentity): boolean {
  const host = canonicalHost(via.host);
  if (!own.hosts.some((h) => canonicalHost(h) === host)) return false;
  const transport = via.transport.toLowerCase();
  const port = via.port ?? defaultPort(transport === 'tls' ? 'tls' : 'udp');
  // A request moved from UDP to TCP (§18.1.1) carries the TCP port; any of our listening ports is ours.
  return Object.values(own.ports).some((p) => p === port);
}

/**
 * §18.2.2: where a response goes when the connection its request came on is gone. Reliable: to `received`
 * (else sent-by) at the sent-by port; unreliable: to `maddr` if given, else `received` at `rport` (RFC 3581
 * §4) or the sent-by port. Returns undefined when sent-by is a name and nothing else is known: imslab
 * resolves no names (RFC 3263 §6 is replaced by the topology's directory).
 */
export function responseDestination(via: Via): TransportAddress | undefined {
  const transport = viaTransport(via.transport);
  if (!transport) return undefined;
  const port = via.port ?? defaultPort(transport);
  const maddr = via.params.get('maddr');
  if (transport === 'udp' && maddr && ipFamily(maddr) !== 0) {
    return { transport, address: stripBrackets(maddr), port };
  }
  const address = via.received ?? via.host;
  if (ipFamily(address) === 0) return undefined;
  const rport = transport === 'udp' && typeof via.rport === 'number' ? via.rport : port;
  return { transport, address: stripBrackets(address), port: rport };
}

export function viaTransport(t: string): TransportProtocol | undefined {
  const l = t.toLowerCase();
  return l === 'udp' || l === 'tcp' || l === 'tls' ? l : undefined;
}

/** Rewrites the top Via's transport and sent-by (§18.1.1: a request moved from UDP to TCP says so). */
export function rewriteTopVia(m: SipRequest, transport: TransportProtocol, sentBy: TransportAddress): string | undefined {
  const first = m.headers.first('Via');
  if (first === undefined) return undefined;
  const via = parseVia(first);
  via.transport = transport.toUpperCase();
  via.host = ipFamily(sentBy.address) === 6 ? `[${sentBy.address}]` : sentBy.address;
  via.port = sentBy.port;
  m.headers.shift('Via');
  m.headers.prepend('Via', formatVia(via));
  return first;
}

/** Puts back a top Via saved by rewriteTopVia. */
export function restoreTopVia(m: SipRequest, original: string): void {
  m.headers.shift('Via');
  m.headers.prepend('Via', original);
}

/**
 * The 400 a server sends for a request it cannot parse (§8.2.6.1, §21.4.1): the parser's reason in the reason
 * phrase and in a Warning 399 (§20.43), the essential headers copied (§8.2.6.2), a To tag added. Undefined
 * when too little was readable to address a response, or when the request is an ACK (§17.1.1.3: an ACK is
 * never answered).
 */
export function badRequest(
  partial: PartialMessage | undefined,
  reason: string,
  source: TransportAddress,
  warnAgent: string,
  toTag: () => string,
): SipResponse | undefined {
  if (!partial || partial.kind !== 'request' || !partial.headers) return undefined;
  if (partial.method?.toUpperCase() === 'ACK') return undefined;
  const h = partial.headers;
  if (missingEssential({ headers: h })) return undefined;
  try {
    // The response must match the request's transaction: both need a readable top Via and CSeq.
    if (parseCSeq(h.get('CSeq')!).method.toUpperCase() === 'ACK') return undefined;
    const out = new Headers();
    for (const v of h.getAll('Via')) out.append('Via', v);
    stampReceived(out, source);
    out.append('From', h.get('From')!);
    let to = h.get('To')!;
    try {
      if (parseNameAddr(to).tag === undefined) to += `;tag=${toTag()}`;
    } catch {
      // An unreadable To is echoed as it came: the client matches on Via and CSeq (§17.1.3).
    }
    out.append('To', to);
    out.append('Call-ID', h.get('Call-ID')!);
    out.append('CSeq', h.get('CSeq')!);
    const text = printable(reason, 120);
    out.append('Warning', `399 ${warnAgent} ${quote(text)}`);
    out.append('Content-Length', '0');
    return new SipResponse(400, `Bad Request (${text})`, out);
  } catch {
    return undefined;
  }
}

/** Reason text safe in a Reason-Phrase and a quoted-string: no control characters, bounded length. */
function printable(s: string, max: number): string {
  let out = '';
  for (let i = 0; i < s.length && out.length < max; i++) {
    const c = s.charCodeAt(i);
    out += c < 32 || c === 127 ? ' ' : s[i];
  }
  return out.trim() || 'malformed request';
}
