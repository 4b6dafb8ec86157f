import { ReasonCode } from '../diameter/cx/constants.js';
import type { DeregistrationReason } from '../diameter/cx/common.js';
import type { RegistrationTerminationRequest } from '../diameter/cx/registration-termination.js';
import { who, type HssContext } from './context.js';
import type { Registration, Subscriber } from './subscriber.js';

const CLAUSE = 'TS 29.228 §6.1.3.1';

/** Who an RTR goes to and which identities it names. */
export interface DeregistrationPlan {
  subscriber: Subscriber;
  /** Registered or unregistered identities served by `serverName`. */
  impus: string[];
  serverName: string;
  scscfHost: string;
  scscfRealm: string;
}

export class HssRequestError extends Error {
  override readonly name = 'HssRequestError';
}

/** A target is a private identity (user@realm) or a public one (sip:, sips:, tel:). */
export function isPublicIdentity(target: string): boolean {
  return /^(sips?|tel):/i.test(target);
}

/**
 * Network-initiated de-registration (TS 29.228 §6.1.3): finds the S-CSCF that serves the subscription of
 * `target` and the identities to name. A public identity takes its whole implicit registration set along
 * (§6.5.2.2). Throws HssRequestError when there is nothing to de-register.
 */
export function planDeregistration(ctx: HssContext, target: string): DeregistrationPlan {
  const impi = isPublicIdentity(target) ? ctx.store.findImpiByImpu(target) : target;
  const s = impi === undefined ? undefined : ctx.store.get(impi);
  if (!s) throw new HssRequestError(`no subscriber has the identity ${target}`);
  const served: Registration[] = s.impus.map((p) => ctx.store.getRegistration(p.uri)).filter((r) => r.state !== 'NOT_REGISTERED' && r.serverName);
  const first = served[0];
  if (!first) throw new HssRequestError(`${target} is not registered: there is no S-CSCF to send an RTR to`);
  if (!first.scscfHost) throw new HssRequestError(`the Diameter identity of ${first.serverName} is not known (no MAR or SAR from it was seen)`);
  return {
    subscriber: s,
    impus: served.filter((r) => r.serverName === first.serverName).map((r) => r.impu),
    serverName: first.serverName!,
    scscfHost: first.scscfHost,
    scscfRealm: first.scscfRealm ?? ctx.options.originRealm,
  };
}

export function registrationTerminationRequest(
  ctx: HssContext,
  plan: DeregistrationPlan,
  reason: DeregistrationReason,
  sessionId: string,
): RegistrationTerminationRequest {
  ctx.note(
    'info',
    `RTR: de-registering ${who(plan.subscriber)} (${plan.impus.join(', ')}) at ${plan.serverName}, reason ${reasonName(reason.reasonCode)}${reason.reasonInfo ? ` "${reason.reasonInfo}"` : ''}`,
    CLAUSE,
  );
  return {
    sessionId,
    originHost: ctx.options.originHost,
    originRealm: ctx.options.originRealm,
    destinationHost: plan.scscfHost,
    destinationRealm: plan.scscfRealm,
    userName: plan.subscriber.impi,
    publicIdentities: plan.impus,
    deregistrationReason: reason,
  };
}

/** After a successful RTA the identities are not registered and the S-CSCF name is gone (§6.1.3.1). */
export function applyDeregistration(ctx: HssContext, plan: DeregistrationPlan): void {
  ctx.store.setRegistrations(plan.impus.map((impu) => ({ impu, state: 'NOT_REGISTERED', authPending: false })));
  ctx.pendingChallenges.delete(plan.subscriber.impi);
}

export function reasonName(code: number): string {
  for (const [k, v] of Object.entries(ReasonCode)) if (v === code) return k;
  return String(code);
}
