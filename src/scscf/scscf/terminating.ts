import type { SipRequest, SipResponse } from '../../sip/message.js';
import type { ProxyDecision, ProxyTarget } from '../../sip/proxy/types.js';
import { reasonPhrase } from '../../sip/transaction/response.js';
import { addTermIoi, chargingVectorOf } from './charging.js';
import { impuKey, type ContactBinding } from './registration-store.js';
import { DIALOG_FORMING, liveContacts, note, refuse, type SessionContext } from './session-context.js';

const CLAUSE = 'TS 24.229 §5.4.3.3';

/**
 * TS 24.229 §5.4.3.3 for an initial request to a user this S-CSCF serves: the Request-URI (sip: or tel:) is
 * looked up in the implicit sets held here; a barred identity is 404 and one without a registered contact 480
 * (no unregistered services are provisioned in imslab); the terminating services run (a hook); a dialog-forming
 * request is record-routed; P-Called-Party-ID keeps the Request-URI as received (RFC 3455 §4.2); then the
 * request is retargeted to every registered contact at once (RFC 3261 §16.6, parallel forking), each with the
 * Path stored at registration as its Route set toward the terminating P-CSCF (RFC 3327 §5.3). The proxy core
 * picks the best response (486, 487 after CANCEL, …); branches that only timed out or could not be reached
 * make a 480, since the callee is registered but did not answer (RFC 3261 §21.4.18).
 */
export async function routeTerminating(ctx: SessionContext, request: SipRequest): Promise<ProxyDecision> {
  const callee = request.uri;
  const registration = ctx.store.byImpu(callee);
  if (!registration) {
    return refuse(ctx, request, 480, `${callee} is not registered at this S-CSCF and has no unregistered services`, CLAUSE);
  }
  const key = impuKey(callee);
  if (registration.barred.some((b) => impuKey(b) === key)) {
    return refuse(ctx, request, 404, `${callee} is barred: it may not receive sessions`, `${CLAUSE}, TS 29.228 Annex B.2.1`);
  }
  const contacts = byPreference(liveContacts(ctx, registration));
  if (contacts.length === 0) return refuse(ctx, request, 480, `${callee} has no registered contact left`, CLAUSE);

  const services = await ctx.services.terminating(request, { impu: callee, registration });
  const recordRoute = DIALOG_FORMING.has(request.method);
  const edit = (r: SipRequest) => r.headers.set('P-Called-Party-ID', `<${callee}>`);
  if (services.route.length > 0) {
    // An application server first; it sends the request back here, where the contacts are then tried.
    return { action: 'forward', targets: [{ uri: callee, route: services.route }], recordRoute, edit };
  }

  const targets: ProxyTarget[] = contacts.map((c) => ({ uri: c.uri, route: c.path }));
  const charging = chargingVectorOf(request);
  const synthetic: boolean[] = [];
  note(
    ctx,
    `terminating ${request.method} for ${callee}: ${targets.length === 1 ? 'to its contact' : `forking to its ${targets.length} contacts`} ${targets.map((t) => t.uri).join(', ')} along the Path`,
    targets.length > 1 ? `${CLAUSE}, RFC 3261 §16.6` : CLAUSE,
  );
  return {
    action: 'forward',
    targets,
    recordRoute,
    edit,
    onResponse: (response, branch) => {
      if (response.status >= 200) synthetic[branch.index] = branch.synthetic;
    },
    onForward: (response) => {
      if (response.status < 200) {
        if (response.status > 100) answerAsCallee(ctx, response, callee, charging);
        return;
      }
      if (response.status < 300) {
        answerAsCallee(ctx, response, callee, charging);
        return;
      }
      const finals = synthetic.filter((s) => s !== undefined);
      if (finals.length > 0 && finals.every((s) => s) && [408, 500, 503].includes(response.status)) {
        noAnswer(ctx, response, callee);
      }
    },
  };
}

/**
 * Responses to the initial request leave the terminating S-CSCF with the callee asserted when the terminating
 * P-CSCF did not (TS 24.229 §5.4.3.3, response handling) and with the network's term-ioi.
 */
function answerAsCallee(ctx: SessionContext, response: SipResponse, callee: string, charging: ReturnType<typeof chargingVectorOf>): void {
  if (!response.headers.has('P-Asserted-Identity')) response.headers.append('P-Asserted-Identity', `<${callee}>`);
  addTermIoi(response, charging, ctx.domain);
}

function noAnswer(ctx: SessionContext, response: SipResponse, callee: string): void {
  const was = response.status;
  const reason = `no contact of ${callee} answered (every branch ended in ${was}: timeout or unreachable)`;
  response.status = 480;
  response.reason = reasonPhrase(480);
  response.headers.delete('Warning');
  response.headers.append('Warning', `399 ${ctx.warnAgent} "${reason}"`);
  ctx.trace.note({ node: ctx.node, level: 'info', text: `answered 480 instead of ${was}: ${reason}`, clause: `${CLAUSE}, RFC 3261 §21.4.18` });
}

/** Higher q first (RFC 3261 §16.6 lets a proxy order targets by q); equal q keeps registration order. */
function byPreference(contacts: ContactBinding[]): ContactBinding[] {
  return contacts.map((c, i) => ({ c, i })).sort((a, b) => (b.c.q ?? 1) - (a.c.q ?? 1) || a.i - b.i).map((x) => x.c);
}
