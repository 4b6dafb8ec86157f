/**
 * A request outside any dialog, built the way RFC 3261 §8.1.1 lists its parts: Request-URI, To, From (with a
 * fresh tag), Call-ID, CSeq, Max-Forwards 70, Contact, and a preloaded route set (§8.1.1.1, e.g. the IMS
 * Service-Route, RFC 3608 §6). The Via is the transaction layer's (§8.1.1.7). Pure: identifiers come in.
 */
import { Headers, SipRequest } from '../message.js';
import { targetThroughRouteSet } from '../dialog/route-set.js';

export interface OutOfDialogRequest {
  method: string;
  /** The Request-URI before route-set processing (§8.1.1.1). */
  uri: string;
  /** From value without tag, e.g. `<sip:alice@ims.example>`. */
  from: string;
  fromTag: string;
  /** To value (no tag outside a dialog, §8.1.1.2). */
  to: string;
  callId: string;
  cseq: number;
  /** Contact value (name-addr with params), for methods that carry one. */
  contact?: string | undefined;
  /** Preloaded Route values, top first. */
  routeSet?: readonly string[] | undefined;
  maxForwards?: number | undefined;
  headers?: ReadonlyArray<readonly [string, string]> | undefined;
  body?: Buffer | string | undefined;
  contentType?: string | undefined;
}

export function buildRequest(r: OutOfDialogRequest): SipRequest {
  const target = targetThroughRouteSet(r.uri, r.routeSet ?? []);
  const h = new Headers();
  for (const route of target.routes) h.append('Route', route);
  h.append('Max-Forwards', String(r.maxForwards ?? 70));
  h.append('From', `${r.from};tag=${r.fromTag}`);
  h.append('To', r.to);
  h.append('Call-ID', r.callId);
  h.append('CSeq', `${r.cseq} ${r.method}`);
  if (r.contact !== undefined) h.append('Contact', r.contact);
  for (const [n, v] of r.headers ?? []) h.append(n, v);
  const body = r.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
  if (body.length > 0 && r.contentType !== undefined) h.set('Content-Type', r.contentType);
  h.set('Content-Length', String(body.length));
  return new SipRequest(r.method, target.uri, h, body);
}

/** Sets a header line to `value`, or removes it when value is undefined (used when a retry replaces credentials). */
export function replaceHeader(request: SipRequest, name: string, value: string | readonly string[] | undefined): void {
  request.headers.delete(name);
  if (value === undefined) return;
  if (typeof value === 'string') request.headers.append(name, value);
  else for (const v of value) request.headers.append(name, v);
}
