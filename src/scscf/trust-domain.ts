import { parseCredentials, formatCredentials } from '../sip/headers/auth.js';
import type { SipRequest } from '../sip/message.js';
import type { TransportAddress } from '../sip/transport/types.js';
import type { Directory, NodeEndpoint } from '../topology/directory.js';
import type { TraceBus } from '../trace/events.js';

/**
 * The edge of the home network's trust domain at an I-CSCF or S-CSCF (TS 33.210 network domain security,
 * TS 24.229 §4.4). Two marks in a request are worth something only when a node of the domain wrote them:
 *
 * - `integrity-protected` in Authorization: the P-CSCF's word that the REGISTER came over the UE's security
 *   association (TS 33.203 §7, TS 24.229 §5.2.2.1: the P-CSCF always overwrites it), which lets the S-CSCF skip
 *   the challenge of a registered user (§5.4.1.2.1). Only a P-CSCF may give it; an S-CSCF also takes it from
 *   an I-CSCF of the domain, which applied this same rule.
 * - P-Asserted-Identity (RFC 3325 §5): a proxy that receives it from an element it does not trust removes it.
 *
 * Who belongs is decided by the source address of the request (the topology's nodes by kind, plus the
 * configured `trustedPeers` for an outside P-CSCF such as Kamailio): the lab's stand-in for the Za/Zb
 * interfaces of TS 33.210, where a peer is a peer because of the secured link it came over, never because of
 * what the message says about itself.
 */
export interface TrustBoundaryOptions {
  node: string;
  trace: TraceBus;
  directory: Directory;
  /** Node kinds whose integrity-protected is believed. */
  integrityFrom: readonly NodeEndpoint['kind'][];
  /** Node kinds whose P-Asserted-Identity is believed. */
  identityFrom: readonly NodeEndpoint['kind'][];
  /** Addresses of outside peers believed for both (topology `trustedPeers`). */
  trustedPeers?: readonly string[];
}

/** What admit() took out of a request. */
export interface Removed {
  integrityProtected?: string[];
  assertedIdentity?: string[];
}

export class TrustBoundary {
  private readonly peers: ReadonlySet<string>;

  constructor(private readonly o: TrustBoundaryOptions) {
    this.peers = new Set((o.trustedPeers ?? []).map(canonicalAddress));
  }

  /** Whether a request from `address` may carry the P-CSCF's integrity-protected. */
  vouchesForIntegrity(address: string): boolean {
    return this.belongs(address, this.o.integrityFrom);
  }

  /** Whether a request from `address` may carry P-Asserted-Identity. */
  assertsIdentity(address: string): boolean {
    return this.belongs(address, this.o.identityFrom);
  }

  /**
   * Takes out of `request` (the proxy's working copy) what its source may not assert, and notes it; the
   * request then goes on as any other (the S-CSCF challenges a REGISTER without the mark, §5.4.1.2.1).
   */
  admit(request: SipRequest, source: TransportAddress): Removed {
    const removed: Removed = {};
    const from = `${source.address}:${source.port}`;
    if (request.method === 'REGISTER' && !this.vouchesForIntegrity(source.address)) {
      const values = removeIntegrityProtected(request);
      if (values.length > 0) {
        removed.integrityProtected = values;
        this.o.trace.note({
          node: this.o.node,
          level: 'warn',
          text: `REGISTER from ${from}, outside the trust domain (not a P-CSCF of the topology nor a trusted peer): integrity-protected="${values.join('", "')}" removed, the S-CSCF challenges`,
          clause: 'TS 33.203 §7, TS 24.229 §5.2.2.1, §5.4.1.2.1',
          data: { source: from, integrityProtected: values },
        });
      }
    }
    if (request.headers.has('P-Asserted-Identity') && !this.assertsIdentity(source.address)) {
      const values = request.headers.getAll('P-Asserted-Identity');
      request.headers.delete('P-Asserted-Identity');
      removed.assertedIdentity = values;
      this.o.trace.note({
        node: this.o.node,
        level: 'warn',
        text: `${request.method} from ${from}, outside the trust domain: P-Asserted-Identity ${values.join(', ')} removed`,
        clause: 'RFC 3325 §5, TS 24.229 §4.4',
        data: { source: from, assertedIdentity: values },
      });
    }
    return removed;
  }

  private belongs(address: string, kinds: readonly NodeEndpoint['kind'][]): boolean {
    const a = canonicalAddress(address);
    if (this.peers.has(a)) return true;
    const e = this.o.directory.byAddress(a);
    return e !== undefined && kinds.includes(e.kind);
  }
}

/**
 * Removes integrity-protected from every Authorization of the request and returns the values removed. A line
 * that cannot be parsed but mentions the parameter goes as a whole (value reported as "?"): no later reader,
 * however lenient, may find the mark in it.
 */
export function removeIntegrityProtected(request: SipRequest): string[] {
  const lines = request.headers.getAll('Authorization');
  // Cheap test first: almost every REGISTER has no such parameter.
  if (!lines.some(mentionsIntegrity)) return [];
  const values: string[] = [];
  const kept: string[] = [];
  for (const line of lines) {
    if (!mentionsIntegrity(line)) {
      kept.push(line);
      continue;
    }
    let c;
    try {
      c = parseCredentials(line);
    } catch {
      values.push('?');
      continue;
    }
    const v = c.params.get('integrity-protected');
    if (v === undefined) {
      kept.push(line);
      continue;
    }
    values.push(v);
    c.params.delete('integrity-protected');
    kept.push(formatCredentials(c));
  }
  request.headers.delete('Authorization');
  for (const l of kept) request.headers.append('Authorization', l);
  return values;
}

function mentionsIntegrity(line: string): boolean {
  return line.toLowerCase().includes('integrity-protected');
}

/** One spelling per address: no brackets, lower case, IPv4-mapped IPv6 as IPv4 (a dual-stack socket's view). */
function canonicalAddress(address: string): string {
  const a = (address.startsWith('[') ? address.slice(1, -1) : address).toLowerCase();
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
