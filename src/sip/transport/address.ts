import { isIP } from 'node:net';
import type { TransportAddress, TransportProtocol } from './types.js';

/**
 * Addresses as the transport layer compares and prints them. imslab never resolves names (the topology's
 * Directory replaces RFC 3263), so every destination is an IP literal.
 */

/** The address family of an IP literal, or 0 when the text is not one. */
export function ipFamily(address: string): 0 | 4 | 6 {
  return isIP(stripBrackets(address)) as 0 | 4 | 6;
}

export function stripBrackets(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 91 /* [ */ && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The canonical text of an IP literal, so that `::1`, `[::1]` and `0:0:0:0:0:0:0:1` compare equal
 * (RFC 3261 §18.2.1 compares the sent-by host with the packet source). Names are lowercased.
 */
export function canonicalHost(host: string): string {
  const h = stripBrackets(host);
  if (isIP(h) !== 6) return h.toLowerCase();
  try {
    return new URL(`http://[${h}]/`).hostname.slice(1, -1);
  } catch {
    return h.toLowerCase();
  }
}

/** host:port with IPv6 literals bracketed (RFC 3261 §25.1 hostport). */
export function hostPort(address: string, port: number): string {
  return `${ipFamily(address) === 6 ? `[${stripBrackets(address)}]` : address}:${port}`;
}

/** The key under which a connection to a peer is remembered for reuse (RFC 3261 §18: address, port, transport). */
export function flowKey(a: TransportAddress): string {
  return `${a.transport}|${canonicalHost(a.address)}|${a.port}`;
}

export function describe(a: TransportAddress): string {
  return `${a.transport.toUpperCase()} ${hostPort(a.address, a.port)}`;
}

/** The default port of a transport when a URI or Via gives none (RFC 3261 §19.1.2, §18.2.2). */
export function defaultPort(transport: TransportProtocol): number {
  return transport === 'tls' ? 5061 : 5060;
}

/** Loopback only: imslab never sends outside the machine. */
export function isLoopback(address: string): boolean {
  const h = canonicalHost(address);
  return h === '::1' || (ipFamily(h) === 4 && h.startsWith('127.'));
}
