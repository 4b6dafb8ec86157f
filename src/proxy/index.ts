/** The generic SIP server node (`kind: proxy`): registrar with digest, stateful proxy, redirect server (RFC 3261). */
import 'reflect-metadata';
import type { Container } from 'inversify';
import { TOKENS } from '../topology/tokens.js';
import { ProxyNode } from './proxy-node.js';
import type { UserRecord } from './users.js';
import { sipNodeDeps } from '../topology/sip-node-deps.js';

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
        new ProxyNode({ ...sipNodeDeps(container), users }),
    )
    .inSingletonScope();
}
