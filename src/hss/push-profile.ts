import type { PushProfileRequest } from '../diameter/cx/push-profile.js';
import { chargingInformation, who, type HssContext } from './context.js';
import { HssRequestError } from './registration-termination.js';
import type { Subscriber } from './subscriber.js';
import { imsSubscriptionXml } from './user-data.js';

const CLAUSE = 'TS 29.228 §6.2.2.1';

export interface PushPlan {
  subscriber: Subscriber;
  serverName: string;
  scscfHost: string;
  scscfRealm: string;
}

/**
 * HSS-initiated update of the user profile (TS 29.228 §6.2.2): only an S-CSCF that holds the profile (the
 * user is registered or unregistered there) gets a PPR. Throws HssRequestError otherwise.
 */
export function planPushProfile(ctx: HssContext, impi: string): PushPlan {
  const s = ctx.store.get(impi);
  if (!s) throw new HssRequestError(`no subscriber ${impi}`);
  const r = s.impus.map((p) => ctx.store.getRegistration(p.uri)).find((x) => x.state !== 'NOT_REGISTERED' && x.serverName);
  if (!r) throw new HssRequestError(`${impi} is not registered: no S-CSCF holds its profile`);
  if (!r.scscfHost) throw new HssRequestError(`the Diameter identity of ${r.serverName} is not known (no MAR or SAR from it was seen)`);
  return { subscriber: s, serverName: r.serverName!, scscfHost: r.scscfHost, scscfRealm: r.scscfRealm ?? ctx.options.originRealm };
}

export function pushProfileRequest(ctx: HssContext, plan: PushPlan, sessionId: string): PushProfileRequest {
  ctx.note('info', `PPR: pushing the new profile of ${who(plan.subscriber)} to ${plan.serverName}`, CLAUSE);
  return {
    sessionId,
    originHost: ctx.options.originHost,
    originRealm: ctx.options.originRealm,
    destinationHost: plan.scscfHost,
    destinationRealm: plan.scscfRealm,
    userName: plan.subscriber.impi,
    userData: imsSubscriptionXml(plan.subscriber),
    chargingInformation: chargingInformation(ctx),
  };
}
