import type { NodeKind } from './network-node.js';
import type { TransportProtocol } from '../trace/events.js';

/** A node's resolved settings, as the runner hands them to the node's container (TOKENS.NodeSpec). */
export interface NodeSpec<S = Record<string, unknown>> {
  name: string;
  kind: NodeKind | 'ue';
  address: string;
  ports: Partial<Record<TransportProtocol | 'diameter', number>>;
  domain: string;
  /** Kind-specific settings from the topology file. */
  settings: S;
}

export interface PcscfSettings {
  /** Node name (or sip: URI of an outside I-CSCF) of the home network's entry point. */
  icscf: string;
  secAgree: boolean;
}

export interface IcscfSettings {
  hss: string;
  scscfs: string[];
  /** Outside P-CSCFs (addresses) believed like the topology's own: src/scscf/trust-domain.ts. */
  trustedPeers?: string[];
  /** Tc (RFC 6733 §5.1): ms after a lost Diameter connection to the HSS before it is opened again; default 30 s. */
  diameterTcMs?: number;
}

export interface ScscfSettings {
  hss: string;
  capabilities?: number[];
  serverName?: string;
  /** Registration expiry the registrar grants at most, in seconds. */
  maxExpires?: number;
  minExpires?: number;
  /** Outside P-CSCFs (addresses) believed like the topology's own: src/scscf/trust-domain.ts. */
  trustedPeers?: string[];
  /** Tc (RFC 6733 §5.1): ms after a lost Diameter connection to the HSS before it is opened again; default 30 s. */
  diameterTcMs?: number;
}

export interface HssSettings {
  realm: string;
}

export interface UeSettings {
  impi: string;
  impu: string;
  pcscf: string;
  transport: TransportProtocol;
  secAgree: boolean;
  auth: 'aka' | 'digest';
  k?: string;
  op?: string;
  opc?: string;
  amf?: string;
  sqn?: string;
  password?: string;
  expires: number;
  instanceId?: string;
}
