/**
 * Where a request inside a route set goes: the Request-URI and the Route header values (RFC 3261 §12.2.1.1),
 * the same rule a UAC applies to a preloaded route set outside a dialog (§8.1.1.1, §8.1.2). Pure.
 */
import { parseNameAddr } from '../headers/name-addr.js';
import { isSipUri, parseUri } from '../uri.js';

export interface RequestTarget {
  /** The Request-URI. */
  uri: string;
  /** Route header values, top first (name-addr text). */
  routes: string[];
}

/** The URI inside a Route / Record-Route / Service-Route / Path value. */
export function routeValueUri(value: string): string {
  return parseNameAddr(value).uri;
}

/** Whether a route URI names a loose router (RFC 3261 §19.1.1 `lr`); tel and other schemes are not routers. */
export function isLooseRoute(uri: string): boolean {
  try {
    const u = parseUri(uri);
    return isSipUri(u) && u.params.has('lr');
  } catch {
    return false;
  }
}

/**
 * §12.2.1.1: with an empty route set the Request-URI is the remote target and there is no Route. When the
 * first route is a loose router, the Request-URI is the remote target and the route set goes into Route
 * unchanged. Otherwise the first hop is a strict router (RFC 2543): its URI becomes the Request-URI (without
 * the parameters a Request-URI may not carry) and the remote target is appended as the last Route.
 */
export function targetThroughRouteSet(remoteTarget: string, routeSet: readonly string[]): RequestTarget {
  if (routeSet.length === 0) return { uri: remoteTarget, routes: [] };
  const first = routeValueUri(routeSet[0]!);
  if (isLooseRoute(first)) return { uri: remoteTarget, routes: [...routeSet] };
  return { uri: stripForRequestUri(first), routes: [...routeSet.slice(1), `<${remoteTarget}>`] };
}

/** §19.1.1 table: method and headers components are not allowed in a Request-URI. */
function stripForRequestUri(uri: string): string {
  const q = uri.indexOf('?');
  let out = q >= 0 ? uri.slice(0, q) : uri;
  out = out.replace(/;method=[^;]*/i, '');
  return out;
}
