/**
 * Two transaction users on one transaction layer (RFC 3261 §17: the TU above the layer): the P-CSCF is a proxy
 * (§16) for the UEs and a UA (§8) for its own reg-event subscription (TS 24.229 §5.2.3). The layer hands new
 * requests to one handler; this gives each TU a view of the layer that captures its handlers, and dispatches
 * each request to the UA when it is addressed to the UA's own contact, to the proxy otherwise.
 */
import type { SipRequest } from '../sip/message.js';
import type { AckHandler, RequestHandler, StrayResponseHandler, TransactionLayer } from '../sip/transaction/layer.js';

interface Captured {
  request?: RequestHandler;
  ack?: AckHandler;
  stray?: StrayResponseHandler;
}

/** The layer as one TU sees it: everything shared, except where its handlers go. */
function view(layer: TransactionLayer, into: Captured): TransactionLayer {
  return Object.create(layer, {
    onRequest: { value: (h: RequestHandler) => void (into.request = h) },
    onAck: { value: (h: AckHandler) => void (into.ack = h) },
    onStrayResponse: { value: (h: StrayResponseHandler) => void (into.stray = h) },
  }) as TransactionLayer;
}

export class TransactionUsers {
  private readonly proxy: Captured = {};
  private readonly ua: Captured = {};
  /** The layer to give the proxy core. */
  readonly proxyLayer: TransactionLayer;
  /** The layer to give the UA core. */
  readonly uaLayer: TransactionLayer;

  constructor(
    layer: TransactionLayer,
    /** Whether a request is for the UA (its Request-URI is the UA's contact). */
    private readonly forUa: (request: SipRequest) => boolean,
  ) {
    this.proxyLayer = view(layer, this.proxy);
    this.uaLayer = view(layer, this.ua);
    layer.onRequest((txn, request, received) => {
      const tu = this.ua.request && this.forUa(request) ? this.ua.request : this.proxy.request;
      tu?.(txn, request, received);
    });
    layer.onAck((ack, received) => {
      const tu = this.ua.ack && this.forUa(ack) ? this.ua.ack : this.proxy.ack;
      tu?.(ack, received);
    });
    // Responses with no client transaction are the proxy's (stray 2xx relayed statelessly, RFC 6026).
    layer.onStrayResponse((response, received) => this.proxy.stray?.(response, received));
  }
}
