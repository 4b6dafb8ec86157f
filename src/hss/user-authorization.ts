import type { ServerCapabilities } from '../diameter/cx/common.js';
import { ExperimentalResultCode, UserAuthorizationType } from '../diameter/cx/constants.js';
import type { UserAuthorizationAnswer, UserAuthorizationRequest } from '../diameter/cx/user-authorization.js';
import { ResultCode } from '../diameter/result-codes.js';
import { experimentalName, roamingAllowed, who, type HssContext } from './context.js';
import { checkIdentities } from './identities.js';
import { normaliseImpu, type Subscriber } from './subscriber.js';

const CLAUSE = 'TS 29.228 §6.1.1.1';

/**
 * UAR → UAA: the I-CSCF asks whether this user may register here and which S-CSCF serves it
 * (TS 29.228 §6.1.1.1, in the order the clause gives: identities, barring, roaming, registration state).
 */
export function userAuthorization(ctx: HssContext, r: UserAuthorizationRequest): UserAuthorizationAnswer {
  const check = checkIdentities(ctx.store, r.userName, r.publicIdentity);
  if (!check.ok) {
    ctx.note('info', `UAR: ${check.reason}; answering ${experimentalName(check.experimentalResultCode)}`, CLAUSE);
    return { experimentalResultCode: check.experimentalResultCode };
  }
  const s = check.subscriber;
  const type = r.userAuthorizationType ?? UserAuthorizationType.REGISTRATION;
  if (type !== UserAuthorizationType.REGISTRATION && type !== UserAuthorizationType.DE_REGISTRATION && type !== UserAuthorizationType.REGISTRATION_AND_CAPABILITIES) {
    ctx.note('warn', `UAR: User-Authorization-Type ${type} is not defined; answering DIAMETER_INVALID_AVP_VALUE`, 'TS 29.229 §6.3.24');
    return { resultCode: ResultCode.DIAMETER_INVALID_AVP_VALUE };
  }
  const registration = ctx.store.getRegistration(r.publicIdentity);

  if (type === UserAuthorizationType.DE_REGISTRATION) {
    // A de-registration needs no roaming or barring check: it only asks where the user is registered.
    if (registration.serverName && registration.state !== 'NOT_REGISTERED') {
      ctx.note('info', `UAR de-registration: ${who(s)} is served by ${registration.serverName}`, CLAUSE);
      return { resultCode: ResultCode.DIAMETER_SUCCESS, serverName: registration.serverName };
    }
    ctx.note('info', `UAR de-registration: ${r.publicIdentity} is not registered; answering DIAMETER_ERROR_IDENTITY_NOT_REGISTERED`, CLAUSE);
    return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED };
  }

  // Barring: a barred identity may still register when another identity of its implicit set is not barred.
  const key = normaliseImpu(r.publicIdentity);
  const own = s.impus.find((p) => normaliseImpu(p.uri) === key);
  if (own?.barred && s.impus.every((p) => p.barred)) {
    ctx.note('info', `UAR: every public identity of ${who(s)} is barred; answering DIAMETER_AUTHORIZATION_REJECTED`, CLAUSE);
    return { resultCode: ResultCode.DIAMETER_AUTHORIZATION_REJECTED };
  }
  if (!roamingAllowed(ctx, s, r.visitedNetworkIdentifier)) {
    ctx.note(
      'info',
      `UAR: ${who(s)} may not register from visited network "${r.visitedNetworkIdentifier}" (allowed: home${s.allowedVisitedNetworks.length ? ', ' + s.allowedVisitedNetworks.join(', ') : ' only'}); answering DIAMETER_ERROR_ROAMING_NOT_ALLOWED`,
      CLAUSE,
    );
    return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_ROAMING_NOT_ALLOWED };
  }

  if (type === UserAuthorizationType.REGISTRATION_AND_CAPABILITIES) {
    // The I-CSCF asks for capabilities when the assigned S-CSCF does not answer and it must pick another.
    ctx.note('info', `UAR with capabilities: answering DIAMETER_FIRST_REGISTRATION with the capabilities ${who(s)} needs`, CLAUSE);
    return { experimentalResultCode: ExperimentalResultCode.DIAMETER_FIRST_REGISTRATION, serverCapabilities: serverCapabilities(ctx, s) };
  }
  if (registration.serverName && registration.state !== 'NOT_REGISTERED') {
    ctx.note('info', `UAR: ${who(s)} is ${registration.state.toLowerCase()} at ${registration.serverName}; answering DIAMETER_SUBSEQUENT_REGISTRATION`, CLAUSE);
    return { experimentalResultCode: ExperimentalResultCode.DIAMETER_SUBSEQUENT_REGISTRATION, serverName: registration.serverName };
  }
  if (registration.serverName) {
    ctx.note('info', `UAR: ${who(s)} is not registered but ${registration.serverName} is stored for it; answering DIAMETER_FIRST_REGISTRATION with that Server-Name`, CLAUSE);
    return { experimentalResultCode: ExperimentalResultCode.DIAMETER_FIRST_REGISTRATION, serverName: registration.serverName };
  }
  ctx.note('info', `UAR: ${who(s)} has no S-CSCF assigned; answering DIAMETER_FIRST_REGISTRATION with Server-Capabilities`, CLAUSE);
  return { experimentalResultCode: ExperimentalResultCode.DIAMETER_FIRST_REGISTRATION, serverCapabilities: serverCapabilities(ctx, s) };
}

/**
 * Server-Capabilities (TS 29.228 §6.7, TS 29.229 §6.3.4): the capabilities the user needs, and the names of
 * the S-CSCFs in the table that have every mandatory one, so the I-CSCF can choose among them.
 */
export function serverCapabilities(ctx: HssContext, s: Subscriber): ServerCapabilities {
  const mandatory = s.capabilities?.mandatory ?? [];
  const optional = s.capabilities?.optional ?? [];
  const serverNames = ctx.store
    .listScscfs()
    .filter((c) => mandatory.every((m) => c.capabilities.includes(m)))
    .map((c) => c.serverName);
  return { mandatoryCapabilities: mandatory, optionalCapabilities: optional, serverNames };
}
