/** Simulated UEs (TS 24.229 §5.1): the node, its registration client, and the container binding. */
import 'reflect-metadata';
import type { Container } from 'inversify';
import { TOKENS } from '../topology/tokens.js';
import { Ue } from './ue.js';

export { Ue, type CallOptions } from './ue.js';
export { Call, UE_ALLOW, UE_SESSION_OPTIONS, type CallState, type CallPhase, type CallDirection, type CallEnvironment, type OutgoingCallOptions, type AnswerPolicy } from './call.js';
export { sendMessage, receiveMessage, type InstantMessage, type MessageOutcome, type OutgoingMessage } from './messaging.js';
export { mediaPlan, RTP_BASE_PORT, RTP_PORTS_PER_UE, type MediaPlan } from './media-plan.js';
export { callStep, hangupStep, messageStep, holdStep, resumeStep, dtmfStep, expectLastStatus, expectMessagesReceived, expectDtmfReceived, expectLastCaller, type CallStep } from './scenario-steps.js';
export { ImsRegistration, describeFailure, REGINFO, type UeState, type UeRegistrationState, type RegistrationContext } from './registration.js';
export { ueConfig, callSettings, UeSettingsError, type UeConfig, type UeCallSettings } from './settings.js';
export { withPreconditionLines, offererReserved, RESERVED_OFFER_LINES, RESERVED_ANSWER_LINES } from './qos.js';
export { answerChallenge, initialAuthorization, sessionAuthorization, type DigestSession, type ChallengeVerdict } from './credentials.js';
export { regEventAction, readRegInfo, type RegEventAction, type OurBinding } from './reg-event.js';

/**
 * Binds a UE into a container the runner prepared (Clock, Random, TraceBus, Directory, NodeSpec, Transport,
 * Transactions): TOKENS.Node resolves to the Ue, one per container.
 */
export function bindUe(container: Container): void {
  container.bind(TOKENS.Node).to(Ue).inSingletonScope();
}
