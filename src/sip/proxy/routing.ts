import type { SipRequest } from '../message.js';
import { parseNameAddr } from '../headers/name-addr.js';
import { isSipUri, parseUri, type SipUri } from '../uri.js';
import { canonicalHost, defaultPort, ipFamily, stripBrackets } from '../transport/address.js';
import type { TransportAddress, TransportProtocol } from '../transport/types.js';

/** How a proxy recognises its own URIs (Route values and Record-Route values it wrote). */
export interface OwnUris {
  /** Addresses and host names of this node (not its domain: a domain names a service, not this hop). */
  hosts: readonly string[];
  /** The ports it listens on, any transport. */
  ports: readonly number[];
}

export function isOwnUri(uri: string, own: OwnUris): boolean {
  let u;
  try {
    u = parseUri(uri);
  } catch {
    return false;
  }
  if (!isSipUri(u)) return false;
  const host = canonicalHost(u.host);
  if (!own.hosts.some((h) => canonicalHost(h) === host)) return false;
  const port = u.port ?? defaultPort(uriTransport(u));
  return own.ports.includes(port);
}

/** The URI inside a Route/Record-Route value. */
export function routeUri(value: string): string {
  return parseNameAddr(value).uri;
}

/**
 * Route information pre-processing (RFC 3261 §16.4). A strict router before us put our Record-Route URI in
 * the Request-URI: the real Request-URI is the last Route value. Then every top Route naming us is removed
 * (two when we record-routed twice on a transport change, RFC 5658 §3.2). Returns whether any was ours.
 */
export function preprocessRoute(request: SipRequest, own: OwnUris): boolean {
  let ours = false;
  const routes = request.headers.list('Route');
  if (routes.length > 0 && isOwnUri(request.uri, own) && !hasUser(request.uri)) {
    const last = routes[routes.length - 1]!;
    request.uri = routeUri(last);
    setRoutes(request, routes.slice(0, -1));
    ours = true;
  }
  for (;;) {
    const top = request.headers.first('Route');
    if (top === undefined) break;
    let uri: string;
    try {
      uri = routeUri(top);
    } catch {
      break;
    }
    if (!isOwnUri(uri, own)) break;
    request.headers.shift('Route');
    ours = true;
  }
  return ours;
}

/**
 * §16.6 step 6: when the next Route value lacks `lr`, the next hop is a strict router (RFC 2543): the
 * Request-URI goes to the end of the Route set and the first Route value becomes the Request-URI (§16.12).
 * Returns true when it did so; the next hop is then the new Request-URI.
 */
export function applyStrictRouting(request: SipRequest): boolean {
  const top = request.headers.first('Route');
  if (top === undefined) return false;
  const uri = routeUri(top);
  const parsed = parseUri(uri);
  if (isSipUri(parsed) && parsed.params.has('lr')) return false;
  request.headers.shift('Route');
  request.headers.append('Route', `<${request.uri}>`);
  request.uri = uri;
  return true;
}

/** The URI the next hop is taken from (§16.6 step 7): the top Route if any, else the Request-URI. */
export function nextHopUri(request: SipRequest, strict: boolean): string {
  if (strict) return request.uri;
  const top = request.headers.first('Route');
  return top !== undefined ? routeUri(top) : request.uri;
}

/**
 * Where a URI is reached without DNS (RFC 3263 replaced by a static table): transport from the `transport`
 * parameter (TLS for sips), port from the URI or the transport's default, host an IP literal, `maddr`, or a
 * name the table knows. Undefined when the URI cannot be reached this way (tel URIs, unknown names).
 */
export function resolveUri(uri: string, resolveHost: (host: string) => string | undefined): TransportAddress | undefined {
  let u;
  try {
    u = parseUri(uri);
  } catch {
    return undefined;
  }
  if (!isSipUri(u)) return undefined;
  const transport = uriTransport(u);
  const maddr = u.params.get('maddr');
  const host = stripBrackets(maddr ?? u.host);
  const address = ipFamily(host) !== 0 ? host : resolveHost(host.toLowerCase());
  if (address === undefined) return undefined;
  return { transport, address, port: u.port ?? defaultPort(transport) };
}

function uriTransport(u: SipUri): TransportProtocol {
  const t = u.params.get('transport')?.toLowerCase();
  if (u.scheme === 'sips') return 'tls';
  return t === 'tcp' ? 'tcp' : t === 'tls' ? 'tls' : 'udp';
}

function hasUser(uri: string): boolean {
  try {
    const u = parseUri(uri);
    return isSipUri(u) && u.user !== undefined;
  } catch {
    return false;
  }
}

/** Replaces the Route set, keeping it where the first Route line was. */
function setRoutes(request: SipRequest, values: string[]): void {
  if (values.length === 0) request.headers.delete('Route');
  else request.headers.set('Route', values.join(', '));
}
