/**
 * Requests initiated by a registered UE (TS 24.229 §5.2.6.3): the initial request for a dialog (§5.2.6.3.2) and
 * the standalone transaction (§5.2.6.3.5), and the subsequent requests of its dialogs (§5.2.6.3.3).
 *
 * Initial and standalone requests: the asserted identity replaces whatever the UE claimed (RFC 3325 §9.1), the
 * Route set must be the stored Service-Route (replaced when it is not, see service-route.ts), sec-agree headers
 * stay between the UE and the P-CSCF (RFC 3329 §2.6), a new P-Charging-Vector starts the charging correlation
 * (§7.2A.5), and a dialog-forming request is record-routed with the P-CSCF's address so that the dialog comes
 * back through it. The request then goes where the first Route names: the S-CSCF, with the `orig` marker.
 */
import type { SipRequest } from '../sip/message.js';
import type { ProxyDecision, RequestInfo } from '../sip/proxy/types.js';
import { assertIdentity, chooseAssertedIdentity, type AssertedIdentityChoice } from './asserted-identity.js';
import { newChargingVector, setChargingVector } from './register-headers.js';
import type { PcscfRegistration } from './registration-cache.js';
import { stripSecAgree } from './sec-agree.js';
import { matchesServiceRoute, setServiceRoute } from './service-route.js';
import { DIALOG_FORMING, NETWORK_ONLY, dialogTarget, note, refusal, type SessionContext } from './session-context.js';

const CLAUSE = 'TS 24.229 §5.2.6.3.2';
const STANDALONE = 'TS 24.229 §5.2.6.3.5';

/**
 * The identity to assert for a request from `registrations` (all made from the request's source): the first
 * registration's implicit set comes first, so its first P-Associated-URI is the default; the sets of further
 * contacts registered from the same place widen what the UE may prefer.
 */
export function identityFor(registrations: readonly PcscfRegistration[], request: SipRequest): { choice: AssertedIdentityChoice; registration: PcscfRegistration } {
  const set: string[] = [];
  for (const r of registrations) for (const u of r.impus) if (!set.includes(u)) set.push(u);
  const choice = chooseAssertedIdentity(set, request.headers.list('P-Preferred-Identity'));
  const key = choice.identity.toLowerCase();
  const registration = registrations.find((r) => r.impus.some((u) => u.toLowerCase() === key)) ?? registrations[0]!;
  return { choice, registration };
}

/** The note on what became of the UE's claimed identity (RFC 3325 §9.1). */
export function identityNote(choice: AssertedIdentityChoice, request: SipRequest): string {
  const claimed = request.headers.has('P-Asserted-Identity') ? '; the P-Asserted-Identity the UE sent is removed (RFC 3325 §5: not from the trust domain)' : '';
  switch (choice.preferred) {
    case 'absent':
      return `asserted the default public identity ${choice.identity}${claimed}`;
    case 'honoured':
      return `asserted ${choice.identity} as the P-Preferred-Identity asked (it is in the registered set)${claimed}`;
    case 'refused':
      return `P-Preferred-Identity ${choice.refusedValues!.join(', ')} is not in the registered set: not asserted, the default ${choice.identity} is${claimed}`;
  }
}

export function routeOriginating(ctx: SessionContext, request: SipRequest, info: RequestInfo, registrations: readonly PcscfRegistration[]): ProxyDecision {
  const dialogForming = DIALOG_FORMING.has(request.method);
  const clause = dialogForming ? CLAUSE : STANDALONE;
  const { choice, registration } = identityFor(registrations, request);
  const serviceRoute = registration.serviceRoute;
  if (serviceRoute.length === 0) {
    return refusal(ctx, request, 403, `${registration.contact} registered without a Service-Route: no S-CSCF to send ${request.method} to`, clause);
  }
  const routes = request.headers.list('Route');
  const routeOk = matchesServiceRoute(routes, serviceRoute);
  const chargingVector = newChargingVector(ctx.random, ctx.address, ctx.visitedNetworkId);

  note(
    ctx,
    `originating ${request.method} from ${registration.contact} (${info.received.source.address}:${info.received.source.port}/${info.received.source.transport}): ` +
      `${identityNote(choice, request)}; ` +
      (routeOk
        ? 'Route is the stored Service-Route'
        : `Route ${routes.length > 0 ? routes.join(', ') : '(none after ours)'} is not the stored Service-Route: replaced by ${serviceRoute.join(', ')}`) +
      (dialogForming ? '; Record-Route added' : '') +
      '; new icid',
    routeOk ? clause : `${clause}, RFC 3608 §6`,
    choice.preferred === 'refused' || !routeOk ? 'warn' : 'info',
  );

  return {
    action: 'forward',
    recordRoute: dialogForming,
    targets: [{ uri: request.uri }],
    edit: (req) => {
      assertIdentity(req.headers, choice.identity);
      stripSecAgree(req.headers);
      setChargingVector(req.headers, chargingVector);
      if (!routeOk) setServiceRoute(req.headers, serviceRoute);
    },
  };
}

/**
 * A request inside a dialog the UE is in (TS 24.229 §5.2.6.3.3): it must name the P-CSCF in its Route (our
 * Record-Route, RFC 3261 §12.2.1.1) — the rest of the Route set is the dialog's and is followed (loose routing).
 * The UE's claims of identity are replaced here too (RFC 3325 §9.1) and sec-agree headers stay behind.
 */
export function routeUeInDialog(ctx: SessionContext, request: SipRequest, info: RequestInfo, registrations: readonly PcscfRegistration[]): ProxyDecision {
  const clause = 'TS 24.229 §5.2.6.3.3';
  if (!info.routedToUs) {
    return refusal(ctx, request, 403, `${request.method} inside a dialog that this P-CSCF did not record-route`, `${clause}, RFC 3261 §16.4`);
  }
  const { choice } = identityFor(registrations, request);
  const { target, toUe } = dialogTarget(ctx, request);
  if (request.method !== 'ACK') {
    note(ctx, `${request.method} from the UE inside its dialog: ${toUe ? `to ${toUe.contact}` : 'along the Route set'}; ${identityNote(choice, request)}`, clause);
  }
  return {
    action: 'forward',
    targets: [target],
    edit: (req) => {
      assertIdentity(req.headers, choice.identity);
      stripSecAgree(req.headers);
      if (toUe) for (const name of NETWORK_ONLY) req.headers.delete(name);
    },
  };
}
