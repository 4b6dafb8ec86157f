/**
 * The Service-Route check of TS 24.229 §5.2.6.3.2 (and RFC 3608 §6): an originating request must carry, below the
 * P-CSCF's own entry, exactly the Service-Route stored at registration, so that it reaches the S-CSCF that serves
 * the user and nothing the UE chose. The clause lets the P-CSCF either replace a route that does not match or
 * refuse the request with 400; imslab replaces it (and says so on the trace), so that a handset with a stale or
 * hand-written route set still reaches its S-CSCF — the network's route, never the UE's, is what leaves. Pure.
 */
import type { Headers } from '../sip/message.js';
import { routeUri } from '../sip/proxy/routing.js';
import { parseUri, uriEquals } from '../sip/uri.js';

/**
 * Whether the Route values left after the P-CSCF removed its own (RFC 3261 §16.4) are the stored Service-Route,
 * value for value, compared as URIs (RFC 3261 §19.1.4). An unreadable value never matches.
 */
export function matchesServiceRoute(routes: readonly string[], serviceRoute: readonly string[]): boolean {
  if (routes.length !== serviceRoute.length) return false;
  for (let i = 0; i < routes.length; i++) {
    try {
      if (!uriEquals(parseUri(routeUri(routes[i]!)), parseUri(routeUri(serviceRoute[i]!)))) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Replaces the Route set by the Service-Route (RFC 3608 §6: the stored values, in order, first on top). */
export function setServiceRoute(headers: Headers, serviceRoute: readonly string[]): void {
  headers.delete('Route');
  for (const v of serviceRoute) headers.append('Route', v);
}
