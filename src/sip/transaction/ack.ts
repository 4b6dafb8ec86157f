import { Headers, SipRequest, type SipResponse } from '../message.js';
import { parseCSeq } from '../headers/cseq.js';

/**
 * The ACK a client INVITE transaction sends for a 300-699 response (RFC 3261 §17.1.1.3): same Request-URI,
 * Call-ID, From, CSeq number and Route set as the INVITE, the To of the response (with its tag), and only
 * the INVITE's top Via, so that the ACK carries the same branch and matches the server transaction.
 * Headers keep the INVITE's order so the ACK reads like the request it acknowledges.
 */
export function buildNonSuccessAck(invite: SipRequest, response: SipResponse): SipRequest {
  const h = new Headers();
  let viaDone = false;
  const to = response.headers.get('To') ?? invite.headers.get('To');
  const lines = invite.headers;
  for (let i = 0; i < lines.size; i++) {
    const name = lines.nameAt(i);
    const value = lines.valueAt(i);
    switch (lines.keyAt(i)) {
      case 'via':
        if (!viaDone) h.append(name, invite.headers.first('Via')!);
        viaDone = true;
        break;
      case 'to':
        if (to !== undefined) h.append(name, to);
        break;
      case 'cseq':
        h.append(name, `${parseCSeq(value).seq} ACK`);
        break;
      case 'route':
      case 'max-forwards':
      case 'from':
      case 'call-id':
        h.append(name, value);
        break;
      // §17.1.1.3 lists no other header; credentials are not repeated in a hop-by-hop ACK.
    }
  }
  return new SipRequest('ACK', invite.uri, h);
}

/**
 * A CANCEL for a request (RFC 3261 §9.1): same Request-URI, Call-ID, To, From, CSeq number and Route set;
 * no Via (the transaction layer pushes one with the cancelled request's branch, so the single Via
 * matches the top Via of that request). `extra` headers, e.g. RFC 3326 Reason, are appended.
 */
export function buildCancel(request: SipRequest, extra: ReadonlyArray<readonly [string, string]> = []): SipRequest {
  const h = new Headers();
  const lines = request.headers;
  for (let i = 0; i < lines.size; i++) {
    const name = lines.nameAt(i);
    const value = lines.valueAt(i);
    switch (lines.keyAt(i)) {
      case 'cseq':
        h.append(name, `${parseCSeq(value).seq} CANCEL`);
        break;
      case 'route':
      case 'max-forwards':
      case 'from':
      case 'to':
      case 'call-id':
        h.append(name, value);
        break;
    }
  }
  for (const [n, v] of extra) h.append(n, v);
  return new SipRequest('CANCEL', request.uri, h);
}
