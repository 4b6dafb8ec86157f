/**
 * Requests terminated by a registered UE (TS 24.229 §5.2.6.4; §5.2.7 adds the INVITE-only resource parts, which
 * imslab has no PCRF for). The S-CSCF sends them along the Path the P-CSCF wrote at registration: the top Route
 * is our `term@` URI (removed by route pre-processing, RFC 3261 §16.4) and the Request-URI is the contact the UE
 * registered (RFC 3327 §5.3). The P-CSCF checks that contact is registered through it, record-routes a
 * dialog-forming request, keeps P-Asserted-Identity (the UE is trusted to receive it in IMS, RFC 3325 §9.1 with
 * TS 24.229 §4.4), keeps the charging headers inside the network (P-Charging-Vector and
 * P-Charging-Function-Addresses never go to the UE), and delivers over the connection the UE registered on.
 *
 * Its responses come from outside the trust domain: the callee's claims are replaced by the identity the P-CSCF
 * vouches for — its P-Preferred-Identity when in the registered set, else the identity that was called
 * (P-Called-Party-ID) when registered, else the default (RFC 3325 §9.1, TS 24.229 §5.2.6.4).
 */
import { parseNameAddr } from '../sip/headers/name-addr.js';
import type { SipRequest, SipResponse } from '../sip/message.js';
import { isOwnUri, routeUri, type OwnUris } from '../sip/proxy/routing.js';
import type { ProxyDecision, RequestInfo } from '../sip/proxy/types.js';
import { isSipUri, parseUri } from '../sip/uri.js';
import { assertIdentity, chooseAssertedIdentity, inIdentitySet } from './asserted-identity.js';
import type { PcscfRegistration } from './registration-cache.js';
import { DIALOG_FORMING, NETWORK_ONLY, note, refusal, registrationOfContact, towardUe, type SessionContext } from './session-context.js';

const CLAUSE = 'TS 24.229 §5.2.6.4';

export function routeTerminating(ctx: SessionContext, request: SipRequest, info: RequestInfo, own: OwnUris): ProxyDecision {
  const reg = registrationOfContact(ctx, request.uri);
  if (!reg) {
    return refusal(ctx, request, 404, `${request.uri} is not a contact registered through this P-CSCF`, CLAUSE);
  }
  const destination = towardUe(ctx, reg);
  if (!destination) return refusal(ctx, request, 480, `the contact ${reg.contact} cannot be resolved to an address`, CLAUSE, 'warn');
  const dialogForming = DIALOG_FORMING.has(request.method);
  const viaPath = arrivedOnPath(info, own);
  const calledParty = calledPartyOf(request);
  let answered = false;
  note(
    ctx,
    `terminating ${request.method} for ${reg.impus[0]} to ${destination.address}:${destination.port}/${destination.transport}` +
      (reg.connectionId !== undefined && destination.port === reg.ue.port ? ' over the connection it registered on' : '') +
      (viaPath ? ' (arrived on our Path URI)' : ' (no term@ Route: the Request-URI is a contact registered here)') +
      (dialogForming ? '; Record-Route added' : '') +
      '; P-Asserted-Identity kept, charging headers stay in the network',
    CLAUSE,
  );
  return {
    action: 'forward',
    recordRoute: dialogForming,
    targets: [{ uri: request.uri, nextHop: destination }],
    edit: (req) => {
      for (const name of NETWORK_ONLY) req.headers.delete(name);
    },
    onResponse: (response, branch) => {
      if (branch.synthetic) return;
      // A 2xx is retransmitted until the ACK (RFC 3261 §13.3.1.4): each copy is rewritten, the first one noted.
      const quiet = response.status >= 200 && response.status < 300 && answered;
      if (response.status >= 200 && response.status < 300) answered = true;
      assertCallee(ctx, response, reg, calledParty, quiet);
    },
  };
}

/** RFC 3325 §9.1 for the UE's responses: see the file comment. */
function assertCallee(ctx: SessionContext, response: SipResponse, reg: PcscfRegistration, calledParty: string | undefined, quiet: boolean): void {
  const spoofed = response.headers.has('P-Asserted-Identity');
  if (response.status <= 100 || response.status >= 300) {
    response.headers.delete('P-Asserted-Identity');
    response.headers.delete('P-Preferred-Identity');
    if (spoofed) note(ctx, `P-Asserted-Identity removed from the UE's ${response.status}: not from the trust domain`, 'RFC 3325 §5');
    return;
  }
  const ordered = calledParty !== undefined && inIdentitySet(reg.impus, calledParty) ? [calledParty, ...reg.impus] : [...reg.impus];
  const choice = chooseAssertedIdentity(ordered, response.headers.list('P-Preferred-Identity'));
  assertIdentity(response.headers, choice.identity);
  if (!quiet && (response.status >= 200 || spoofed || choice.preferred === 'refused')) {
    note(
      ctx,
      `${response.status} from ${reg.contact}: asserted ${choice.identity}` +
        (choice.preferred === 'refused' ? ` (P-Preferred-Identity ${choice.refusedValues!.join(', ')} is not in the registered set)` : '') +
        (spoofed ? '; the P-Asserted-Identity the UE sent is removed' : ''),
      `${CLAUSE}, RFC 3325 §9.1`,
      choice.preferred === 'refused' || spoofed ? 'warn' : 'info',
    );
  }
}

/** Whether the request as received had our Path URI (user `term`) on top (RFC 3327 §5.3). */
function arrivedOnPath(info: RequestInfo, own: OwnUris): boolean {
  const top = (info.transaction?.request)?.headers.first('Route');
  if (top === undefined) return false;
  try {
    const uri = routeUri(top);
    const u = parseUri(uri);
    return isSipUri(u) && u.user === 'term' && isOwnUri(uri, own);
  } catch {
    return false;
  }
}

function calledPartyOf(request: SipRequest): string | undefined {
  const v = request.headers.get('P-Called-Party-ID');
  if (v === undefined) return undefined;
  try {
    return parseNameAddr(v).uri;
  } catch {
    return undefined;
  }
}
