/** Every requirement the report checks, in the order a registration and its first requests meet them. */
import type { Requirement } from '../model.js';
import { initialRegisterAuthorization } from './initial-register-authorization.js';
import { supportedPath } from './supported-path.js';
import { secAgree } from './sec-agree.js';
import { contactInstance } from './contact-instance.js';
import { contactExpires } from './contact-expires.js';
import { challengeAnsweredInTime } from './challenge-answered-in-time.js';
import { securityVerify } from './security-verify.js';
import { registerCallIdCseq } from './register-call-id-cseq.js';
import { authResponse } from './auth-response.js';
import { regEventSubscription } from './reg-event-subscription.js';
import { reregisterBeforeExpiry } from './reregister-before-expiry.js';
import { preloadedRoute } from './preloaded-route.js';
import { preferredIdentity } from './preferred-identity.js';
import { noAssertedIdentity } from './no-asserted-identity.js';
import { retransmissionTimers } from './retransmission-timers.js';
import { deregistration } from './deregistration.js';

export const REQUIREMENTS: readonly Requirement[] = [
  initialRegisterAuthorization,
  supportedPath,
  secAgree,
  contactInstance,
  contactExpires,
  challengeAnsweredInTime,
  securityVerify,
  registerCallIdCseq,
  authResponse,
  regEventSubscription,
  reregisterBeforeExpiry,
  preloadedRoute,
  preferredIdentity,
  noAssertedIdentity,
  retransmissionTimers,
  deregistration,
];
