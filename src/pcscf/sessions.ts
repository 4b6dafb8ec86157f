/**
 * Requests other than REGISTER at the P-CSCF. Originating (TS 24.229 §5.2.6.3: P-Asserted-Identity from the
 * registered set, Service-Route check, Record-Route) and terminating (§5.2.7) session handling arrive with
 * issue 5 and replace `route` here; until then a request that still carries a Route set (a dialog some other
 * node set up through us, a CANCEL or ACK) is relayed by it, and anything else is refused with the reason.
 */
import type { SipRequest } from '../sip/message.js';
import type { ProxyDecision, RequestInfo } from '../sip/proxy/types.js';
import { refuse, type RefusalContext } from './refuse.js';

export class SessionRouting {
  constructor(private readonly refusalContext: () => RefusalContext) {}

  route(request: SipRequest, info: RequestInfo): ProxyDecision {
    if (request.method === 'ACK' || request.method === 'CANCEL' || (info.routedToUs && request.headers.has('Route'))) {
      return { action: 'forward', targets: [{ uri: request.uri }] };
    }
    return {
      action: 'respond',
      response: refuse(
        this.refusalContext(),
        request,
        501,
        `${request.method} outside REGISTER: originating and terminating session handling (TS 24.229 §5.2.6, §5.2.7) comes with issue 5`,
        'TS 24.229 §5.2.6',
      ),
    };
  }
}
