import { ExperimentalResultCode, ServerAssignmentType as SAT, UserDataAlreadyAvailable } from '../diameter/cx/constants.js';
import type { ServerAssignmentAnswer, ServerAssignmentRequest } from '../diameter/cx/server-assignment.js';
import { ResultCode } from '../diameter/result-codes.js';
import { chargingInformation, experimentalName, hasUnregisteredServices, who, type HssContext } from './context.js';
import { checkIdentities } from './identities.js';
import type { Registration, RegistrationState, Subscriber } from './subscriber.js';
import { imsSubscriptionXml } from './user-data.js';

const CLAUSE = 'TS 29.228 §6.1.2.1';

const TYPE_NAME: Record<number, string> = Object.fromEntries(Object.entries(SAT).map(([k, v]) => [v, k]));

/**
 * SAR → SAA: the S-CSCF tells the HSS it now serves (or no longer serves) the user, and fetches the profile
 * (TS 29.228 §6.1.2.1). The implicit registration set moves as one (§6.5.1): every identity of the
 * subscription takes the new state.
 */
export function serverAssignment(ctx: HssContext, r: ServerAssignmentRequest): ServerAssignmentAnswer {
  const typeName = TYPE_NAME[r.serverAssignmentType];
  if (typeName === undefined) {
    ctx.note('warn', `SAR: Server-Assignment-Type ${r.serverAssignmentType} is not defined; answering DIAMETER_INVALID_AVP_VALUE`, 'TS 29.229 §6.3.15');
    return { resultCode: ResultCode.DIAMETER_INVALID_AVP_VALUE };
  }
  const impu = r.publicIdentities[0];
  const check = checkIdentities(ctx.store, r.userName, impu);
  if (!check.ok) {
    ctx.note('info', `SAR ${typeName}: ${check.reason}; answering ${experimentalName(check.experimentalResultCode)}`, CLAUSE);
    return { experimentalResultCode: check.experimentalResultCode };
  }
  const s = check.subscriber;
  for (const other of r.publicIdentities.slice(1)) {
    if (ctx.store.findImpiByImpu(other) !== s.impi) {
      ctx.note('info', `SAR ${typeName}: ${other} is not an identity of ${s.impi}; answering DIAMETER_ERROR_IDENTITIES_DONT_MATCH`, CLAUSE);
      return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_IDENTITIES_DONT_MATCH };
    }
  }
  const current = ctx.store.getRegistration(impu ?? s.impus[0]!.uri);
  const assignedElsewhere = current.serverName !== undefined && current.serverName !== r.serverName;
  // Every SAR closes the authentication round that MARs opened.
  ctx.pendingChallenges.delete(s.impi);

  const set = (state: RegistrationState, keepName: boolean): void =>
    ctx.store.setRegistrations(
      s.impus.map((p): Registration => {
        if (!keepName) return { impu: p.uri, state, authPending: false };
        return { impu: p.uri, state, serverName: r.serverName, scscfHost: r.originHost, scscfRealm: r.originRealm, authPending: false };
      }),
    );
  const profile = (): ServerAssignmentAnswer => ({
    resultCode: ResultCode.DIAMETER_SUCCESS,
    userName: s.impi,
    ...(r.userDataAlreadyAvailable === UserDataAlreadyAvailable.USER_DATA_ALREADY_AVAILABLE ? {} : { userData: imsSubscriptionXml(s) }),
    chargingInformation: chargingInformation(ctx),
  });

  switch (r.serverAssignmentType) {
    case SAT.REGISTRATION:
    case SAT.RE_REGISTRATION:
      if (assignedElsewhere && current.state !== 'NOT_REGISTERED') return alreadyRegistered(ctx, s, typeName, current);
      set('REGISTERED', true);
      ctx.note('info', `SAR ${typeName}: ${who(s)} is registered at ${r.serverName}; sending the user profile`, CLAUSE);
      return profile();

    case SAT.UNREGISTERED_USER:
      if (assignedElsewhere && current.state !== 'NOT_REGISTERED') return alreadyRegistered(ctx, s, typeName, current);
      if (current.state === 'REGISTERED') {
        ctx.note('info', `SAR UNREGISTERED_USER: ${who(s)} is registered; answering DIAMETER_ERROR_IN_ASSIGNMENT_TYPE`, CLAUSE);
        return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_IN_ASSIGNMENT_TYPE };
      }
      set('UNREGISTERED', true);
      ctx.note('info', `SAR UNREGISTERED_USER: ${r.serverName} serves ${who(s)} unregistered (a terminating request); sending the user profile`, CLAUSE);
      return profile();

    case SAT.NO_ASSIGNMENT:
      if (current.serverName !== r.serverName) {
        ctx.note('info', `SAR NO_ASSIGNMENT: ${r.serverName} is not the S-CSCF assigned to ${who(s)} (${current.serverName ?? 'none'}); answering DIAMETER_UNABLE_TO_COMPLY`, CLAUSE);
        return { resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY };
      }
      ctx.note('info', `SAR NO_ASSIGNMENT: sending the profile of ${who(s)}; registration state unchanged`, CLAUSE);
      return profile();

    case SAT.TIMEOUT_DEREGISTRATION:
    case SAT.USER_DEREGISTRATION:
    case SAT.ADMINISTRATIVE_DEREGISTRATION:
    case SAT.DEREGISTRATION_TOO_MUCH_DATA:
      if (assignedElsewhere) return notTheAssignedOne(ctx, s, typeName, current, r.serverName);
      set('NOT_REGISTERED', false);
      ctx.note('info', `SAR ${typeName}: ${who(s)} is no longer registered; S-CSCF name cleared`, CLAUSE);
      return { resultCode: ResultCode.DIAMETER_SUCCESS, userName: s.impi };

    case SAT.TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME:
    case SAT.USER_DEREGISTRATION_STORE_SERVER_NAME:
      if (assignedElsewhere) return notTheAssignedOne(ctx, s, typeName, current, r.serverName);
      // The HSS decides whether to keep the name: imslab keeps it when there are services for the
      // unregistered state (terminating requests then reach the same S-CSCF), and says so otherwise.
      if (hasUnregisteredServices(s.userData)) {
        set('UNREGISTERED', true);
        ctx.note('info', `SAR ${typeName}: ${who(s)} has unregistered-state services; keeping ${r.serverName}, state unregistered`, CLAUSE);
        return { resultCode: ResultCode.DIAMETER_SUCCESS, userName: s.impi };
      }
      set('NOT_REGISTERED', false);
      ctx.note('info', `SAR ${typeName}: ${who(s)} has no unregistered-state services; name not kept, answering DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED`, CLAUSE);
      return { experimentalResultCode: ExperimentalResultCode.DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED, userName: s.impi };

    case SAT.AUTHENTICATION_FAILURE:
    case SAT.AUTHENTICATION_TIMEOUT:
      // Only an identity that was not registered loses the name its MAR stored; a registered one keeps its state.
      if (current.state === 'NOT_REGISTERED') set('NOT_REGISTERED', false);
      ctx.note(
        r.serverAssignmentType === SAT.AUTHENTICATION_FAILURE ? 'warn' : 'info',
        r.serverAssignmentType === SAT.AUTHENTICATION_FAILURE
          ? `SAR AUTHENTICATION_FAILURE: ${r.serverName} says ${who(s)} failed authentication; check K/OP/AMF with \`imslab aka doctor\``
          : `SAR AUTHENTICATION_TIMEOUT: ${who(s)} never answered the challenge`,
        CLAUSE,
      );
      return { resultCode: ResultCode.DIAMETER_SUCCESS, userName: s.impi };

    default:
      // AAA_USER_DATA_REQUEST, PGW_UPDATE and RESTORATION belong to other interfaces or features imslab lacks.
      ctx.note('info', `SAR ${typeName}: not supported by this HSS; answering DIAMETER_ERROR_IN_ASSIGNMENT_TYPE`, CLAUSE);
      return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_IN_ASSIGNMENT_TYPE };
  }
}

/** Another S-CSCF holds the registration: the HSS keeps it and names that S-CSCF (TS 29.228 §8.1). */
function alreadyRegistered(ctx: HssContext, s: Subscriber, typeName: string, current: Registration): ServerAssignmentAnswer {
  ctx.note(
    'info',
    `SAR ${typeName}: ${who(s)} is ${current.state.toLowerCase()} at ${current.serverName}; answering DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED`,
    'TS 29.228 §8.1',
  );
  return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED, serverName: current.serverName! };
}

/** A stale S-CSCF de-registering a user another S-CSCF now serves changes nothing (TS 29.228 §8.1). */
function notTheAssignedOne(ctx: HssContext, s: Subscriber, typeName: string, current: Registration, requester: string): ServerAssignmentAnswer {
  ctx.note('info', `SAR ${typeName}: ${requester} is not the S-CSCF of ${who(s)} (${current.serverName}); state unchanged`, 'TS 29.228 §8.1');
  return { resultCode: ResultCode.DIAMETER_SUCCESS, userName: s.impi };
}
