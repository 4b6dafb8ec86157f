/**
 * What the runner knows of a network function: a name, a kind, and a lifetime. Everything else a node does
 * it does over the network, so that a topology can later be spread over processes and hosts.
 */
export type NodeKind = 'pcscf' | 'icscf' | 'scscf' | 'hss' | 'proxy' | 'as';

export interface NetworkNode {
  readonly name: string;
  readonly kind: NodeKind | 'ue';
  start(): Promise<void>;
  stop(): Promise<void>;
}
