import { ExperimentalResultCode } from '../diameter/cx/constants.js';
import type { LocationInfoAnswer, LocationInfoRequest } from '../diameter/cx/location-info.js';
import { ResultCode } from '../diameter/result-codes.js';
import { experimentalName, hasUnregisteredServices, who, type HssContext } from './context.js';
import { checkIdentities } from './identities.js';
import { serverCapabilities } from './user-authorization.js';

const CLAUSE = 'TS 29.228 §6.1.4.1';

/**
 * LIR → LIA: the I-CSCF asks which S-CSCF serves a public identity, to route a terminating (or, with
 * Originating-Request, an originating) request to it (TS 29.228 §6.1.4.1).
 */
export function locationInfo(ctx: HssContext, r: LocationInfoRequest): LocationInfoAnswer {
  const check = checkIdentities(ctx.store, undefined, r.publicIdentity);
  if (!check.ok) {
    ctx.note('info', `LIR: ${check.reason}; answering ${experimentalName(check.experimentalResultCode)}`, CLAUSE);
    return { experimentalResultCode: check.experimentalResultCode };
  }
  const s = check.subscriber;
  const reg = ctx.store.getRegistration(r.publicIdentity);
  if (reg.state !== 'NOT_REGISTERED' && reg.serverName) {
    ctx.note('info', `LIR: ${r.publicIdentity} is ${reg.state.toLowerCase()} at ${reg.serverName}`, CLAUSE);
    return { resultCode: ResultCode.DIAMETER_SUCCESS, serverName: reg.serverName };
  }
  // Not registered: a request can still be served when the user has services for the unregistered state
  // (or the request is originating on the user's behalf, e.g. from an AS).
  if (hasUnregisteredServices(s.userData) || r.originatingRequest) {
    if (reg.serverName) {
      ctx.note('info', `LIR: ${r.publicIdentity} is not registered but ${reg.serverName} is stored; answering DIAMETER_UNREGISTERED_SERVICE`, CLAUSE);
      return { experimentalResultCode: ExperimentalResultCode.DIAMETER_UNREGISTERED_SERVICE, serverName: reg.serverName };
    }
    ctx.note('info', `LIR: ${r.publicIdentity} is not registered and ${who(s)} has unregistered-state services; answering DIAMETER_UNREGISTERED_SERVICE with Server-Capabilities`, CLAUSE);
    return { experimentalResultCode: ExperimentalResultCode.DIAMETER_UNREGISTERED_SERVICE, serverCapabilities: serverCapabilities(ctx, s) };
  }
  ctx.note('info', `LIR: ${r.publicIdentity} is not registered and has no unregistered-state services; answering DIAMETER_ERROR_IDENTITY_NOT_REGISTERED`, CLAUSE);
  return { experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED };
}
