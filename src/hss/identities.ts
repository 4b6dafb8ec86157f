import { ExperimentalResultCode } from '../diameter/cx/constants.js';
import type { SubscriberStore } from './store.js';
import type { Subscriber } from './subscriber.js';

export type IdentityCheck =
  | { ok: true; subscriber: Subscriber }
  | { ok: false; experimentalResultCode: number; reason: string };

/**
 * The first step of every Cx procedure at the HSS (TS 29.228 §6.1.1.1, §6.1.2.1, §6.1.4.1, §6.3.1): the
 * identities must exist (else DIAMETER_ERROR_USER_UNKNOWN) and, when both are given, the public identity must
 * belong to the private one (else DIAMETER_ERROR_IDENTITIES_DONT_MATCH).
 */
export function checkIdentities(store: SubscriberStore, impi: string | undefined, impu: string | undefined): IdentityCheck {
  // Read the subscription first: a store that loads it learns the owners of its identities on the way, so
  // the IMPU lookup below costs no second read. The checks keep the clause's order.
  const named = impi !== undefined ? store.get(impi) : undefined;
  let owner: string | undefined;
  if (impu !== undefined) {
    owner = store.findImpiByImpu(impu);
    if (owner === undefined) return unknown(`no subscription has the public identity ${impu}`);
  }
  if (impi !== undefined) {
    const s = named;
    if (!s) return unknown(`no subscription has the private identity ${impi}`);
    if (owner !== undefined && owner !== impi)
      return {
        ok: false,
        experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_IDENTITIES_DONT_MATCH,
        reason: `${impu} belongs to ${owner}, not to ${impi}`,
      };
    return { ok: true, subscriber: s };
  }
  if (owner === undefined) return unknown('the request names no identity');
  const s = store.get(owner);
  if (!s) return unknown(`no subscription has the private identity ${owner}`);
  return { ok: true, subscriber: s };
}

function unknown(reason: string): IdentityCheck {
  return { ok: false, experimentalResultCode: ExperimentalResultCode.DIAMETER_ERROR_USER_UNKNOWN, reason };
}
