/**
 * Where a UAC sends a request (RFC 3261 §8.1.2): to the first Route when there is one (a preloaded route set
 * or a dialog's), else to the configured outbound proxy, else to the Request-URI (which route-set.ts has
 * already set to a strict router's URI when the first hop is one). An outbound proxy is in effect the first
 * element of a preloaded route set (§8.1.2), so a request whose Route already names the next hop goes there.
 * imslab resolves URIs with the topology's table instead of RFC 3263 DNS.
 */
import type { SipRequest } from '../message.js';
import { resolveUri } from '../proxy/routing.js';
import { routeValueUri } from '../dialog/route-set.js';
import type { TransportAddress } from '../transport/types.js';

export class NextHopError extends Error {
  override readonly name = 'NextHopError';
}

export function nextHop(
  request: SipRequest,
  outboundProxy: TransportAddress | undefined,
  resolveHost: (host: string) => string | undefined,
): TransportAddress {
  const top = request.headers.first('Route');
  if (top === undefined && outboundProxy) return { ...outboundProxy };
  const uri = top !== undefined ? routeValueUri(top) : request.uri;
  const hop = resolveUri(uri, resolveHost);
  if (!hop) throw new NextHopError(`no address for ${uri} (an IP literal or a topology name is needed, RFC 3263 is replaced by the directory)`);
  return hop;
}
