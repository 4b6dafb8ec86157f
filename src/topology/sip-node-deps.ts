import type { Container } from 'inversify';
import type { TransactionLayer } from '../sip/transaction/index.js';
import type { TransportLayer } from '../sip/transport/layer.js';
import type { TraceBus } from '../trace/events.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { Directory } from './directory.js';
import type { NodeSpec } from './node-spec.js';
import { TOKENS } from './tokens.js';

/** What every SIP network function is built from: its spec, the run-wide services and its own SIP stack. */
export interface SipNodeDeps<S = Record<string, unknown>> {
  spec: NodeSpec<S>;
  clock: Clock;
  random: Random;
  trace: TraceBus;
  directory: Directory;
  transport: TransportLayer;
  transactions: TransactionLayer;
}

/** Reads a SIP node's dependencies out of its container (bound by createNodeContainer). */
export function sipNodeDeps<S>(container: Container): SipNodeDeps<S> {
  return {
    spec: container.get<NodeSpec<S>>(TOKENS.NodeSpec),
    clock: container.get<Clock>(TOKENS.Clock),
    random: container.get<Random>(TOKENS.Random),
    trace: container.get<TraceBus>(TOKENS.TraceBus),
    directory: container.get<Directory>(TOKENS.Directory),
    transport: container.get<TransportLayer>(TOKENS.Transport),
    transactions: container.get<TransactionLayer>(TOKENS.Transactions),
  };
}
