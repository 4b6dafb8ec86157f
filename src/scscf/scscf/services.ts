import type { SipRequest } from '../../sip/message.js';
import type { SubscriptionRegistration } from './registration-store.js';

/** The user an S-CSCF serves on one leg of a session (TS 24.229 §5.4.3.2 originating, §5.4.3.3 terminating). */
export interface ServedUser {
  /** The public user identity acting: the asserted caller, or the called IMPU (the Request-URI as received). */
  impu: string;
  registration: SubscriptionRegistration;
}

/**
 * What service control (iFC evaluation, TS 23.218 §6, TS 29.228 Annex B.2.2) decides for an initial request:
 * Route values of application servers to visit first, in order (`<sip:as@…;lr>`, each followed by the S-CSCF's
 * own ODI URI once application servers exist). Empty: route the request on directly.
 */
export interface ServiceDecision {
  route: readonly string[];
}

/** The originating iFCs (TS 24.229 §5.4.3.2 step 4). Application servers are a later issue; the hook is here now. */
export interface OriginatingServices {
  originating(request: SipRequest, served: ServedUser): ServiceDecision | Promise<ServiceDecision>;
}

/** The terminating iFCs (TS 24.229 §5.4.3.3 step 4). */
export interface TerminatingServices {
  terminating(request: SipRequest, served: ServedUser): ServiceDecision | Promise<ServiceDecision>;
}

/** No application server is triggered: every initial request is routed on as if no filter criterion matched. */
export const NO_SERVICES: OriginatingServices & TerminatingServices = {
  originating: () => ({ route: [] }),
  terminating: () => ({ route: [] }),
};
