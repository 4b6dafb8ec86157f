import type { NodeKind } from './network-node.js';
import type { TransportProtocol } from '../trace/events.js';

/** A node as the rest of the network sees it: its kind, its address and the ports it listens on. */
export interface NodeEndpoint {
  name: string;
  kind: NodeKind | 'ue';
  /** IPv4 (127.x.y.z) or IPv6 (::1) address the node binds. */
  address: string;
  /** SIP ports per transport (absent = not offered); `diameter` for Diameter nodes. */
  ports: Partial<Record<TransportProtocol | 'diameter', number>>;
  /** Home domain the node serves. */
  domain: string;
  /** Whether the node runs outside this process (another vendor's CSCF, an outside UE). */
  external?: boolean;
}

/**
 * The static "DNS" of a topology (RFC 3263 resolution is replaced by a table: imslab never queries DNS).
 * Names resolve to endpoints; addresses map back to names for ladders and trace reading.
 */
export class Directory {
  private readonly byName = new Map<string, NodeEndpoint>();

  constructor(
    endpoints: Iterable<NodeEndpoint>,
    /** The first home domain of the topology. */
    readonly homeDomain: string,
  ) {
    for (const e of endpoints) this.byName.set(e.name, e);
  }

  get(name: string): NodeEndpoint {
    const e = this.byName.get(name);
    if (!e) throw new Error(`directory: no node named "${name}"`);
    return e;
  }

  find(name: string): NodeEndpoint | undefined {
    return this.byName.get(name);
  }

  /** The node listening on an address (any port), for ladders and for recognising trusted peers. */
  byAddress(address: string): NodeEndpoint | undefined {
    for (const e of this.byName.values()) if (e.address === address) return e;
    return undefined;
  }

  /**
   * Resolves a host part: an IP address of a node, or a node's FQDN `<name>.<domain>` (as in Server-Name,
   * e.g. `sip:scscf1.ims.mnc001.mcc001.3gppnetwork.org:5060`). Outside handsets cannot resolve these names,
   * so anything that reaches a UE (Via, Path, Service-Route, Record-Route) carries IP addresses instead.
   */
  resolveHost(host: string): NodeEndpoint | undefined {
    const h = host.startsWith('[') ? host.slice(1, -1) : host;
    const byIp = this.byAddress(h);
    if (byIp) return byIp;
    const lower = h.toLowerCase();
    for (const e of this.byName.values()) if (fqdn(e) === lower) return e;
    return undefined;
  }

  /** The FQDN of a node: `<name>.<its domain>`. */
  fqdn(name: string): string {
    return fqdn(this.get(name));
  }

  ofKind(kind: NodeEndpoint['kind']): NodeEndpoint[] {
    return [...this.byName.values()].filter((e) => e.kind === kind);
  }

  all(): NodeEndpoint[] {
    return [...this.byName.values()];
  }

  /** The SIP URI of a node, e.g. `sip:scscf1.ims.mnc001.mcc001.3gppnetwork.org` is not resolvable without DNS, so nodes are addressed by IP. */
  sipUri(name: string, options: { user?: string; transport?: TransportProtocol; lr?: boolean } = {}): string {
    const e = this.get(name);
    const host = e.address.includes(':') ? `[${e.address}]` : e.address;
    const t = options.transport ?? offeredTransport(e.ports);
    const port = e.ports[t] ?? e.ports.udp ?? e.ports.tcp ?? 5060;
    let uri = `sip:${options.user ? options.user + '@' : ''}${host}:${port}`;
    if (t !== 'udp') uri += `;transport=${t}`;
    if (options.lr) uri += ';lr';
    return uri;
  }
}

/**
 * The SIP URI that reaches `host` over the first SIP transport it offers, UDP first. A `sip:` URI without a
 * transport parameter means UDP (RFC 3263 §4.1), so a node without UDP must say `;transport=tcp`, and one with
 * TLS alone is `sips:` (RFC 3261 §19.1.2): else a Server-Name or route would lead its peers to a port that is
 * not listening.
 */
export function reachableUri(host: string, ports: NodeEndpoint['ports']): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const t = offeredTransport(ports);
  const port = ports[t] ?? 5060;
  return t === 'tls' ? `sips:${h}:${port}` : `sip:${h}:${port}${t === 'tcp' ? ';transport=tcp' : ''}`;
}

/** The SIP transport a node is reached over when nothing asks for one: UDP if it listens there, else TCP, else TLS. */
function offeredTransport(ports: NodeEndpoint['ports']): TransportProtocol {
  return ports.udp !== undefined ? 'udp' : ports.tcp !== undefined ? 'tcp' : ports.tls !== undefined ? 'tls' : 'udp';
}

function fqdn(e: NodeEndpoint): string {
  return `${e.name}.${e.domain}`.toLowerCase();
}
