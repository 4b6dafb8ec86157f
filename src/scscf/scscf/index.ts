import 'reflect-metadata';
import type { Container } from 'inversify';
import type { TransactionLayer } from '../../sip/transaction/layer.js';
import type { TransportLayer } from '../../sip/transport/layer.js';
import type { Directory } from '../../topology/directory.js';
import type { NodeSpec } from '../../topology/node-spec.js';
import { TOKENS } from '../../topology/tokens.js';
import type { TraceBus } from '../../trace/events.js';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import { Scscf, type ScscfNodeSettings } from './scscf.js';
import type { RegistrationStore } from './registration-store.js';

export { Scscf, type ScscfNodeSettings, type ScscfDeps } from './scscf.js';
export { Registrar, type RegistrationChange, type ContactChange } from './registrar.js';
export { RegEventNotifier, type RegSubscription } from './reg-event.js';
export { SqliteRegistrationStore, RegistrationStoreError } from './sqlite-registration-store.js';
export { MemoryRegistrationStore, impuKey, type RegistrationStore, type SubscriptionRegistration, type ContactBinding } from './registration-store.js';
export { SessionRouter, type SessionLeg } from './session-router.js';
export { routeOriginating, isOriginating } from './originating.js';
export { routeTerminating } from './terminating.js';
export { DIALOG_FORMING, type SessionContext } from './session-context.js';
export { NO_SERVICES, type OriginatingServices, type TerminatingServices, type ServiceDecision, type ServedUser } from './services.js';
export { addOrigIoi, addTermIoi, chargingVectorOf } from './charging.js';
export { ChallengeBook, makeChallenge, verifyAnswer, marScheme, REG_AWAIT_AUTH_MS, type PendingChallenge } from './challenges.js';

/** Token for the S-CSCF's RegistrationStore; bind it before bindScscf to persist registrations elsewhere. */
export const REGISTRATION_STORE = Symbol.for('imslab.scscf.RegistrationStore');

/**
 * Puts an S-CSCF into a node container (contract "How a node is built and run"): the runner has bound the
 * clock, random source, trace, directory, NodeSpec, transport and transactions; this binds TOKENS.Node.
 */
export function bindScscf(container: Container): void {
  container
    .bind(TOKENS.Node)
    .toDynamicValue(() => {
      const store = container.isBound(REGISTRATION_STORE) ? container.get<RegistrationStore>(REGISTRATION_STORE) : undefined;
      return new Scscf({
        spec: container.get<NodeSpec<ScscfNodeSettings>>(TOKENS.NodeSpec),
        clock: container.get<Clock>(TOKENS.Clock),
        random: container.get<Random>(TOKENS.Random),
        trace: container.get<TraceBus>(TOKENS.TraceBus),
        directory: container.get<Directory>(TOKENS.Directory),
        transport: container.get<TransportLayer>(TOKENS.Transport),
        transactions: container.get<TransactionLayer>(TOKENS.Transactions),
        ...(store ? { store } : {}),
      });
    })
    .inSingletonScope();
}
