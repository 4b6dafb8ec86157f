/** The P-CSCF (TS 24.229 §5.2). */
import 'reflect-metadata';
import type { Container } from 'inversify';
import { TOKENS } from '../topology/tokens.js';
import { Pcscf, type PcscfNodeSettings } from './pcscf.js';
import { sipNodeDeps } from '../topology/sip-node-deps.js';

export { Pcscf, UA_USER, type PcscfDeps, type PcscfNodeSettings } from './pcscf.js';
export { RegisterProcedure, readRegister, type RegisterContext } from './register.js';
export { RegistrationCache, contactKey, type PcscfRegistration, type RegistrationChange, type RemovalReason } from './registration-cache.js';
export { RegEventSubscriber, type RegEventSubscriberOptions } from './reg-event.js';
export { PendingSecurityAssociations, saKey, PENDING_SA_LIFETIME_MS, type SecurityAssociation } from './security-associations.js';
export * from './sec-agree.js';
export * from './register-headers.js';
export { SessionRouting, type PcscfLeg } from './sessions.js';
export { routeOriginating, routeUeInDialog, identityFor } from './originating.js';
export { routeTerminating } from './terminating.js';
export { chooseAssertedIdentity, assertIdentity, inIdentitySet, type AssertedIdentityChoice } from './asserted-identity.js';
export { matchesServiceRoute, setServiceRoute } from './service-route.js';
export { DIALOG_FORMING, NETWORK_ONLY, isTrustedPeer, registrationsFrom, towardUe, type SessionContext } from './session-context.js';
export { TransactionUsers } from './transaction-users.js';

/**
 * Puts a P-CSCF into a node container (contract "How a node is built and run"): the runner has bound the
 * clock, random source, trace, directory, NodeSpec, transport and transactions; this binds TOKENS.Node.
 */
export function bindPcscf(container: Container): void {
  container
    .bind(TOKENS.Node)
    .toDynamicValue(
      () =>
        new Pcscf(sipNodeDeps<PcscfNodeSettings>(container)),
    )
    .inSingletonScope();
}
