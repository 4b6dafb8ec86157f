/** Simulated UEs (TS 24.229 §5.1): the node, its registration client, and the container binding. */
import 'reflect-metadata';
import type { Container } from 'inversify';
import { TOKENS } from '../topology/tokens.js';
import { Ue } from './ue.js';

export { Ue } from './ue.js';
export { ImsRegistration, describeFailure, REGINFO, type UeState, type UeRegistrationState, type RegistrationContext } from './registration.js';
export { ueConfig, UeSettingsError, type UeConfig } from './settings.js';
export { answerChallenge, initialAuthorization, sessionAuthorization, type DigestSession, type ChallengeVerdict } from './credentials.js';
export { regEventAction, readRegInfo, type RegEventAction, type OurBinding } from './reg-event.js';

/**
 * Binds a UE into a container the runner prepared (Clock, Random, TraceBus, Directory, NodeSpec, Transport,
 * Transactions): TOKENS.Node resolves to the Ue, one per container.
 */
export function bindUe(container: Container): void {
  container.bind(TOKENS.Node).to(Ue).inSingletonScope();
}
