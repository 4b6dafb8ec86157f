/**
 * Requests other than REGISTER at the P-CSCF (TS 24.229 §5.2.6): the router the proxy core asks for each one.
 * Who sent it decides the procedure: a registered UE (known by the address, port and transport it registered
 * from) originates (§5.2.6.3), a node of the trust domain terminates at a UE (§5.2.6.4), anyone else is refused
 * with 403 — a source that did not register may not use this P-CSCF. Requests with a To tag (and ACK for 2xx)
 * belong to a dialog and follow its Route set (RFC 3261 §12.2, §16.12); a CANCEL the proxy core could not match
 * to an INVITE in progress (§16.10) is answered 481 unless it still has somewhere to go.
 */
import type { SipRequest } from '../sip/message.js';
import type { OwnUris } from '../sip/proxy/routing.js';
import type { ProxyDecision, RequestInfo } from '../sip/proxy/types.js';
import { tagOf } from '../sip/transaction/response.js';
import { routeOriginating, routeUeInDialog } from './originating.js';
import { NETWORK_ONLY, dialogTarget, isTrustedPeer, note, refusal, registrationsFrom, type SessionContext } from './session-context.js';
import { routeTerminating } from './terminating.js';

/** Which procedure a request falls under at this P-CSCF. */
export type PcscfLeg = 'originating' | 'ue-in-dialog' | 'terminating' | 'core-in-dialog' | 'cancel' | 'unknown-source';

export class SessionRouting {
  constructor(
    private readonly ctx: SessionContext,
    /** The proxy core's own URIs (known once it is built): recognises our Path URI on terminating requests. */
    private readonly own: () => OwnUris,
  ) {}

  classify(request: SipRequest, info: RequestInfo): PcscfLeg {
    const fromUe = registrationsFrom(this.ctx, info.received).length > 0;
    if (!fromUe && !isTrustedPeer(this.ctx, info.received.source.address)) return 'unknown-source';
    if (request.method === 'CANCEL') return 'cancel';
    // RFC 3261 §12.2: a To tag puts a request inside a dialog; the ACK for a 2xx is one too (§13.2.2.4).
    const inDialog = request.method === 'ACK' || tagOf(request.headers.get('To')) !== undefined;
    if (fromUe) return inDialog ? 'ue-in-dialog' : 'originating';
    return inDialog ? 'core-in-dialog' : 'terminating';
  }

  route(request: SipRequest, info: RequestInfo): ProxyDecision {
    switch (this.classify(request, info)) {
      case 'cancel':
        return this.strayCancel(request, info);
      case 'originating':
        return routeOriginating(this.ctx, request, info, registrationsFrom(this.ctx, info.received));
      case 'ue-in-dialog':
        return routeUeInDialog(this.ctx, request, info, registrationsFrom(this.ctx, info.received));
      case 'terminating':
        return routeTerminating(this.ctx, request, info, this.own());
      case 'core-in-dialog':
        return this.coreInDialog(request, info);
      case 'unknown-source': {
        const s = info.received.source;
        return refusal(
          this.ctx,
          request,
          403,
          `${request.method} from ${s.address}:${s.port}/${s.transport}, which holds no registration at this P-CSCF and is not a node of the core`,
          'TS 24.229 §5.2.6.3, RFC 3325 §2.3',
          'warn',
        );
      }
    }
  }

  /**
   * A request from the core inside a dialog we record-routed (TS 24.229 §5.2.6.4 subsequent requests): our
   * Route value must have been on it; it goes on along the Route set, or to the UE when none is left.
   */
  private coreInDialog(request: SipRequest, info: RequestInfo): ProxyDecision {
    if (!info.routedToUs) {
      return refusal(this.ctx, request, 403, `${request.method} inside a dialog that this P-CSCF did not record-route`, 'TS 24.229 §5.2.6.4, RFC 3261 §16.4');
    }
    const { target, toUe } = dialogTarget(this.ctx, request);
    if (request.method !== 'ACK') {
      note(this.ctx, `${request.method} from the core inside a dialog: ${toUe ? `to ${toUe.contact}` : `along the Route set`}`, 'TS 24.229 §5.2.6.4');
    }
    return {
      action: 'forward',
      targets: [target],
      ...(toUe ? { edit: (req: SipRequest) => NETWORK_ONLY.forEach((name) => req.headers.delete(name)) } : {}),
    };
  }

  /**
   * RFC 3261 §16.10: a CANCEL whose INVITE is not being proxied here. With a Route set left (after ours) it is
   * forwarded; without one there is nowhere to send it, and the answer is 481 (§9.2).
   */
  private strayCancel(request: SipRequest, info: RequestInfo): ProxyDecision {
    if (info.routedToUs && request.headers.has('Route')) return { action: 'forward', targets: [{ uri: request.uri }] };
    return refusal(this.ctx, request, 481, 'CANCEL for no INVITE in progress here', 'RFC 3261 §9.2, §16.10');
  }
}
