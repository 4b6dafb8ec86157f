import type { SipRequest } from '../../sip/message.js';
import { isOwnUri } from '../../sip/proxy/routing.js';
import type { ProxyDecision, RequestInfo } from '../../sip/proxy/types.js';
import { tagOf } from '../../sip/transaction/response.js';
import { isOriginating, routeOriginating } from './originating.js';
import { refuse, type SessionContext } from './session-context.js';
import { routeTerminating } from './terminating.js';

/** Which part of TS 24.229 §5.4.3 a request falls under at this S-CSCF. */
export type SessionLeg = 'originating' | 'terminating' | 'in-dialog' | 'cancel';

/**
 * Session routing of the S-CSCF (TS 24.229 §5.4.3) for everything but REGISTER and the reg event: a router
 * for the proxy core. Initial requests are originating (§5.4.3.2) or terminating (§5.4.3.3); requests inside
 * a dialog follow the Route set built from our Record-Route (§5.4.3.2/§5.4.3.3 "subsequent requests"); a
 * CANCEL the proxy core did not match to an INVITE in progress is answered 481.
 */
export class SessionRouter {
  constructor(readonly ctx: SessionContext) {}

  classify(request: SipRequest, info: RequestInfo): SessionLeg {
    if (request.method === 'CANCEL') return 'cancel';
    // RFC 3261 §12.2: a request with a To tag belongs to a dialog; ACK for a 2xx is one too (§13.2.2.4).
    if (tagOf(request.headers.get('To')) !== undefined) return 'in-dialog';
    return isOriginating(this.ctx, request, info) ? 'originating' : 'terminating';
  }

  async route(request: SipRequest, info: RequestInfo): Promise<ProxyDecision> {
    switch (this.classify(request, info)) {
      case 'cancel':
        return this.strayCancel(request);
      case 'in-dialog':
        return this.inDialog(request, info);
      case 'originating':
        return routeOriginating(this.ctx, request, info);
      case 'terminating':
        return routeTerminating(this.ctx, request);
    }
  }

  /**
   * A request inside a dialog this S-CSCF record-routed: the proxy core has removed our Route values (§16.4),
   * the rest of the Route set or the Request-URI (the remote target) says where it goes — loose routing, no
   * identity check beyond RFC 3261 §16. One that names us nowhere is not ours to relay: refused, so that the
   * S-CSCF is no open relay toward registered contacts.
   */
  private inDialog(request: SipRequest, info: RequestInfo): ProxyDecision {
    const target = request.headers.has('Route') ? undefined : request.uri;
    if (!info.routedToUs) {
      return refuse(this.ctx, request, 403, `${request.method} inside a dialog that this S-CSCF did not record-route`, 'RFC 3261 §16.4, TS 24.229 §5.4.3');
    }
    if (target !== undefined && isOwnUri(target, this.ctx.own)) {
      return refuse(this.ctx, request, 481, `${request.method} for a dialog that does not exist at this S-CSCF`, 'RFC 3261 §12.2.2');
    }
    return { action: 'forward', targets: [{ uri: request.uri }] };
  }

  /**
   * §16.10: a CANCEL whose INVITE is not being proxied here. With a Route set left it is forwarded (statelessly
   * in spirit: nothing is kept); without one there is nowhere to send it, and the answer is 481 (§9.2).
   */
  private strayCancel(request: SipRequest): ProxyDecision {
    if (request.headers.has('Route')) return { action: 'forward', targets: [{ uri: request.uri }] };
    return refuse(this.ctx, request, 481, 'CANCEL for no INVITE in progress here', 'RFC 3261 §9.2, §16.10');
  }
}
