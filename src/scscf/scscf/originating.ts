import { parseNameAddr } from '../../sip/headers/name-addr.js';
import type { SipRequest } from '../../sip/message.js';
import { isOwnUri, resolveUri } from '../../sip/proxy/routing.js';
import type { ProxyDecision, ProxyTarget, RequestInfo } from '../../sip/proxy/types.js';
import { isSipUri, isTelUri, parseUri, type Uri } from '../../sip/uri.js';
import { impuKey, type SubscriptionRegistration } from './registration-store.js';
import { addOrigIoi } from './charging.js';
import { DIALOG_FORMING, liveContacts, note, refuse, type SessionContext } from './session-context.js';

const CLAUSE = 'TS 24.229 §5.4.3.2';

/**
 * Whether an initial request is on the originating side of this S-CSCF (TS 24.229 §5.4.3.2): its top Route
 * as received is our Service-Route URI with the `orig` user part (§5.4.1.2.2, RFC 3608), or, for a P-CSCF that
 * drops it, it comes from the first hop on the Path of the identity it asserts (RFC 3327: the P-CSCF that
 * registered that user).
 */
export function isOriginating(ctx: SessionContext, request: SipRequest, info: RequestInfo): boolean {
  const asReceived = info.transaction?.request ?? request;
  const top = asReceived.headers.first('Route');
  if (top !== undefined) {
    try {
      const uri = parseNameAddr(top).uri;
      const u = parseUri(uri);
      if (isSipUri(u) && u.user === 'orig' && isOwnUri(uri, ctx.own)) return true;
    } catch {
      // An unreadable Route is not ours; the proxy core has already routed on what it could read.
    }
  }
  const served = assertedRegistration(ctx, request);
  return served !== undefined && cameFromPathOf(served.registration, info.received.source.address);
}

/**
 * TS 24.229 §5.4.3.2 for an initial request from a served user: identify the user from P-Asserted-Identity
 * (step 1), refuse one that is not registered here, barred, or not sent by its P-CSCF (403), run the
 * originating services (step 4, a hook), record-route a dialog-forming request (step 7), mark the charging
 * vector (orig-ioi) and route the Request-URI: a tel URI or a URI of the home network goes to the home
 * network's I-CSCF (step 10), which asks the HSS where the callee is served (LIR) — ENUM is not available,
 * so a tel URI is treated as a public identity of the home network.
 */
export async function routeOriginating(ctx: SessionContext, request: SipRequest, info: RequestInfo): Promise<ProxyDecision> {
  const pai = request.headers.list('P-Asserted-Identity');
  if (pai.length === 0) {
    return refuse(ctx, request, 403, 'no P-Asserted-Identity: the P-CSCF asserts the served user of an originating request', CLAUSE);
  }
  let served: { impu: string; registration: SubscriptionRegistration } | undefined;
  try {
    served = assertedRegistration(ctx, request, true);
  } catch (e) {
    return refuse(ctx, request, 400, `unreadable P-Asserted-Identity: ${(e as Error).message}`, 'RFC 3325 §9.1');
  }
  const asserted = pai.map((v) => safeUri(v) ?? v).join(', ');
  if (!served) return refuse(ctx, request, 403, `${asserted} is not registered at this S-CSCF`, CLAUSE);
  const { impu, registration } = served;
  if (registration.barred.some((b) => impuKey(b) === impuKey(impu))) {
    return refuse(ctx, request, 403, `${impu} is barred: it may not originate sessions`, 'TS 29.228 Annex B.2.1');
  }
  if (liveContacts(ctx, registration).length === 0) return refuse(ctx, request, 403, `${impu} has no registered contact left`, CLAUSE);
  if (!cameFromPathOf(registration, info.received.source.address)) {
    return refuse(ctx, request, 403, `request for ${impu} did not come from the P-CSCF on its Path (${info.received.source.address})`, CLAUSE);
  }

  const services = await ctx.services.originating(request, { impu, registration });
  let target: Uri;
  try {
    target = parseUri(request.uri);
  } catch (e) {
    return refuse(ctx, request, 400, `unreadable Request-URI: ${(e as Error).message}`, 'RFC 3261 §16.3');
  }
  const recordRoute = DIALOG_FORMING.has(request.method);
  const edit = (r: SipRequest) => addOrigIoi(r, ctx.domain, ctx.random, hostOf(ctx));

  // A Route set left after ours (an AS, or a pre-loaded route beyond the S-CSCF) is followed: loose routing.
  if (request.headers.has('Route') || services.route.length > 0) {
    note(ctx, `originating ${request.method} from ${impu}: following the Route set`, CLAUSE);
    return { action: 'forward', targets: [{ uri: request.uri, route: services.route }], recordRoute, edit };
  }
  const uri = telOfUserPhone(target, ctx.domain) ?? request.uri;
  if (isTelUri(target) || (isSipUri(target) && isHomeDomain(ctx, target.host))) {
    if (!ctx.icscf) {
      // No I-CSCF in the topology: the S-CSCF may route to the terminating side itself (TS 24.229 §5.4.3.2
      // step 10 lets it skip the I-CSCF); the request comes back to this node, whose Route marks no `orig`.
      const self = ctx.own.hosts[0]!;
      const at: ProxyTarget = { uri, route: [`<sip:${self.includes(':') ? `[${self}]` : self}:${ctx.own.ports[0]};lr>`] };
      note(ctx, `originating ${request.method} from ${impu} to ${uri}: no I-CSCF known, terminating here`, CLAUSE);
      return { action: 'forward', targets: [at], recordRoute, edit };
    }
    note(ctx, `originating ${request.method} from ${impu} to ${uri}: to the I-CSCF of the home network for the location query`, CLAUSE);
    return { action: 'forward', targets: [{ uri, nextHop: ctx.icscf }], recordRoute, edit };
  }
  // Another network: resolved from the topology's table (RFC 3263 replaced); no DNS, no BGCF yet.
  const next = resolveUri(request.uri, (h) => ctx.directory.resolveHost(h)?.address);
  if (!next) return refuse(ctx, request, 404, `${request.uri} is in no network this core can reach (no DNS, no BGCF)`, CLAUSE);
  note(ctx, `originating ${request.method} from ${impu} to ${request.uri}: outside the home network, sent to ${next.address}:${next.port}`, CLAUSE);
  return { action: 'forward', targets: [{ uri: request.uri, nextHop: next }], recordRoute, edit };
}

/**
 * The registration of the first P-Asserted-Identity value registered here (RFC 3325 allows one sip/sips and
 * one tel value, the same user). `strict` makes an unreadable value throw instead of being skipped.
 */
function assertedRegistration(ctx: SessionContext, request: SipRequest, strict = false): { impu: string; registration: SubscriptionRegistration } | undefined {
  for (const value of request.headers.list('P-Asserted-Identity')) {
    let uri: string;
    try {
      uri = parseNameAddr(value).uri;
      parseUri(uri);
    } catch (e) {
      if (strict) throw e;
      continue;
    }
    const registration = ctx.store.byImpu(uri);
    if (registration) return { impu: uri, registration };
  }
  return undefined;
}

/** Whether `address` is the first hop of the Path of one of the registration's contacts (the P-CSCF, RFC 3327 §5.3). */
function cameFromPathOf(registration: SubscriptionRegistration, address: string): boolean {
  for (const c of registration.contacts) {
    const top = c.path[0];
    if (top === undefined) {
      if (c.receivedFrom.address === address) return true;
      continue;
    }
    try {
      const u = parseUri(parseNameAddr(top).uri);
      if (isSipUri(u) && stripBrackets(u.host) === address) return true;
    } catch {
      // A Path value the registrar stored but cannot be read gives no proof either way.
    }
  }
  return false;
}

/** `sip:+15550001@home;user=phone` names the same number as `tel:+15550001` (RFC 3261 §19.1.6); the HSS knows the tel form. */
function telOfUserPhone(u: Uri, domain: string): string | undefined {
  if (!isSipUri(u) || u.params.get('user') !== 'phone' || !u.user || u.host.toLowerCase() !== domain.toLowerCase()) return undefined;
  const semi = u.user.indexOf(';');
  return `tel:${semi < 0 ? u.user : u.user.slice(0, semi)}`;
}

function isHomeDomain(ctx: SessionContext, host: string): boolean {
  const h = host.toLowerCase();
  return h === ctx.domain.toLowerCase() || h === ctx.directory.homeDomain.toLowerCase();
}

function safeUri(value: string): string | undefined {
  try {
    return parseNameAddr(value).uri;
  } catch {
    return undefined;
  }
}

function hostOf(ctx: SessionContext): string {
  return ctx.own.hosts[0] ?? ctx.node;
}

function stripBrackets(h: string): string {
  return h.startsWith('[') ? h.slice(1, -1) : h;
}
