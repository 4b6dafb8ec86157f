import type { Container } from 'inversify';
import type { DiameterNode } from '../diameter/node.js';
import { HssNode } from '../hss/hss-node.js';
import { Pcscf } from '../pcscf/pcscf.js';
import { Icscf } from '../scscf/icscf/icscf.js';
import { Scscf } from '../scscf/scscf/scscf.js';
import type { TransactionLayer } from '../sip/transaction/layer.js';
import type { TransportLayer } from '../sip/transport/layer.js';
import type { NetworkNode } from '../topology/network-node.js';
import type { RunningTopology } from '../topology/runner.js';
import { TOKENS } from '../topology/tokens.js';

/**
 * A node's health counters (issue 8 point 5): what its SIP transactions and transport did, its Diameter
 * connections, and the registrations it holds. Only what the node's layers expose; a part the node does not
 * have (an HSS has no SIP stack) is absent rather than zero.
 */
export interface NodeCounters {
  transactions?: Record<string, number>;
  transport?: ReturnType<TransportLayer['counters']['snapshot']>;
  diameter?: { connections: number; open: number };
  registrations?: RegistrationCounts;
}

export interface RegistrationCounts {
  /** S-CSCF: subscriptions (implicit registration sets) held; P-CSCF: cached registrations; HSS: IMPIs with a REGISTERED IMPU. */
  subscriptions: number;
  /** S-CSCF: contact bindings; HSS: IMPUs in state REGISTERED. */
  contacts?: number;
  impus?: number;
}

/** Counters of every running node, by name, in the topology's order. */
export function collectCounters(run: RunningTopology): Record<string, NodeCounters> {
  const out: Record<string, NodeCounters> = {};
  for (const { name } of run.topology.nodes) {
    const node = run.nodes.get(name);
    if (node) out[name] = nodeCounters(node, run.containers.get(name));
  }
  return out;
}

export function nodeCounters(node: NetworkNode, container: Container | undefined): NodeCounters {
  const c: NodeCounters = {};
  if (container?.isBound(TOKENS.Transactions)) c.transactions = container.get<TransactionLayer>(TOKENS.Transactions).counters.snapshot();
  if (container?.isBound(TOKENS.Transport)) {
    const t = container.get<TransportLayer>(TOKENS.Transport);
    // A transport of another make (a test double) may have no counters.
    if (t.counters) c.transport = t.counters.snapshot();
  }
  const diameter = diameterOf(node);
  if (diameter) {
    const conns = diameter.connections;
    c.diameter = { connections: conns.length, open: conns.filter((x) => x.state === 'Open').length };
  }
  const registrations = registrationsOf(node);
  if (registrations) c.registrations = registrations;
  return c;
}

function diameterOf(node: NetworkNode): DiameterNode | undefined {
  if (node instanceof HssNode) return node.diameter;
  if (node instanceof Scscf || node instanceof Icscf) return node.hss.diameter;
  return undefined;
}

function registrationsOf(node: NetworkNode): RegistrationCounts | undefined {
  if (node instanceof Scscf) {
    const list = node.store.list();
    return { subscriptions: list.length, contacts: list.reduce((n, r) => n + r.contacts.length, 0) };
  }
  if (node instanceof Pcscf) return { subscriptions: node.registrations().length };
  if (node instanceof HssNode) {
    let subscriptions = 0;
    let impus = 0;
    for (const s of node.store.list()) {
      const registered = s.impus.filter((p) => node.store.getRegistration(p.uri).state === 'REGISTERED').length;
      impus += registered;
      if (registered) subscriptions++;
    }
    return { subscriptions, impus };
  }
  return undefined;
}
