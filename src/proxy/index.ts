/** The generic SIP server node (`kind: proxy`): registrar with digest, stateful proxy, redirect server (RFC 3261). */
import 'reflect-metadata';
import type { Container } from 'inversify';
import type { TransactionLayer } from '../sip/transaction/layer.js';
import type { TransportLayer } from '../sip/transport/layer.js';
import type { Directory } from '../topology/directory.js';
import type { NodeSpec } from '../topology/node-spec.js';
import { TOKENS } from '../topology/tokens.js';
import type { TraceBus } from '../trace/events.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import { ProxyNode } from './proxy-node.js';
import type { UserRecord } from './users.js';

export { ProxyNode, type ProxyNodeDeps } from './proxy-node.js';
export { Registrar, type RegistrarOptions } from './registrar.js';
export { DigestAuthenticator, type AuthOutcome, type AuthRole, type DigestAuthenticatorOptions } from './digest-authenticator.js';
export { LocationService, type Binding } from './location-service.js';
export { UserDirectory, addressOfRecord, type DigestUser, type UserRecord } from './users.js';
export { proxySettings, type ProxySettings, type ProxyMode, type ProxyAuth } from './settings.js';

/**
 * Puts a proxy into a node container (contract "How a node is built and run"): the runner has bound the clock,
 * random source, trace, directory, NodeSpec, transport and transactions; this binds TOKENS.Node. `users` are
 * the realm's subscribers (those with a password are the digest users).
 */
export function bindProxy(container: Container, users: Iterable<UserRecord> = []): void {
  container
    .bind(TOKENS.Node)
    .toDynamicValue(
      () =>
        new ProxyNode({
          spec: container.get<NodeSpec>(TOKENS.NodeSpec),
          clock: container.get<Clock>(TOKENS.Clock),
          random: container.get<Random>(TOKENS.Random),
          trace: container.get<TraceBus>(TOKENS.TraceBus),
          directory: container.get<Directory>(TOKENS.Directory),
          transport: container.get<TransportLayer>(TOKENS.Transport),
          transactions: container.get<TransactionLayer>(TOKENS.Transactions),
          users,
        }),
    )
    .inSingletonScope();
}
