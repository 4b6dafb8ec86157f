/**
 * Injection tokens of a node's container. One inversify container per network node (and per simulated UE):
 * the shared run-wide services (clock, random source, trace stream, directory) are bound into each, and
 * the node's own layers — transport → transactions → function logic — are bound on top.
 */
export const TOKENS = {
  /** Clock — the run's time source (SystemClock, or FakeClock in tests). */
  Clock: Symbol.for('imslab.Clock'),
  /** Random — this node's own seeded stream (forked from the run seed by node name). */
  Random: Symbol.for('imslab.Random'),
  /** TraceBus — the run-wide trace stream. */
  TraceBus: Symbol.for('imslab.TraceBus'),
  /** Directory — where every node of the topology listens (static, no DNS). */
  Directory: Symbol.for('imslab.Directory'),
  /** NodeSpec — this node's resolved settings from the topology. */
  NodeSpec: Symbol.for('imslab.NodeSpec'),
  /** string — the run's data directory (HSS database, TLS material). */
  DataDir: Symbol.for('imslab.DataDir'),
  /** SipTransportLayer — this node's sockets. */
  Transport: Symbol.for('imslab.Transport'),
  /** TransactionLayer — RFC 3261 §17 on top of the transport. */
  Transactions: Symbol.for('imslab.Transactions'),
  /** NetworkNode — the function itself (P-CSCF, S-CSCF …), what the runner starts and stops. */
  Node: Symbol.for('imslab.Node'),
} as const;
