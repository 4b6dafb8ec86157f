import type { ServerCapabilities } from '../../diameter/cx/common.js';
import { ExperimentalResultCode as X } from '../../diameter/cx/constants.js';
import { ResultCode } from '../../diameter/result-codes.js';
import { parseUri, isSipUri } from '../../sip/uri.js';
import type { TransportAddress, TransportProtocol } from '../../sip/transport/types.js';
import type { Directory } from '../../topology/directory.js';

/** An S-CSCF the I-CSCF may assign (settings.scscfs), with what it can do (TS 29.228 §6.7). */
export interface ScscfCandidate {
  /** Node name in the directory. */
  name: string;
  /** Its Server-Name (the SIP URI it puts in MAR/SAR). */
  serverName: string;
  capabilities: number[];
}

/** Where a Server-Name is reached: the directory stands in for DNS (contract: "the I-CSCF resolves it with directory.resolveHost"). */
export function resolveServerName(serverName: string, directory: Directory): TransportAddress | undefined {
  let u;
  try {
    u = parseUri(serverName.trim());
  } catch {
    return undefined;
  }
  if (!isSipUri(u)) return undefined;
  const node = directory.resolveHost(u.host);
  if (!node) return undefined;
  const t = u.params.get('transport')?.toLowerCase();
  const transport: TransportProtocol = u.scheme === 'sips' ? 'tls' : t === 'tcp' ? 'tcp' : t === 'tls' ? 'tls' : 'udp';
  const port = u.port ?? node.ports[transport] ?? (transport === 'tls' ? 5061 : 5060);
  return { transport, address: node.address, port };
}

/**
 * S-CSCF selection (TS 29.228 §6.7, TS 24.229 §5.3.1.2): keep the candidates that have every mandatory
 * capability; when the HSS also named servers, those come first; then the ones with the most optional
 * capabilities; ties keep the configured order. The first is used, the rest are alternatives.
 */
export function selectScscfs(candidates: readonly ScscfCandidate[], caps: ServerCapabilities, directory: Directory): ScscfCandidate[] {
  const named = new Set<string>();
  for (const n of caps.serverNames) {
    const a = resolveServerName(n, directory);
    if (!a) continue;
    const node = directory.byAddress(a.address);
    if (node) named.add(node.name);
  }
  const able = candidates.filter((c) => caps.mandatoryCapabilities.every((m) => c.capabilities.includes(m)));
  const score = (c: ScscfCandidate) => (named.has(c.name) ? 1000 : 0) + caps.optionalCapabilities.filter((o) => c.capabilities.includes(o)).length;
  return able
    .map((c, i) => ({ c, i, s: score(c) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((x) => x.c);
}

/** The SIP answer to a Cx refusal. */
export interface Refusal {
  status: number;
  reason: string;
  clause: string;
}

/**
 * UAA results the I-CSCF cannot route on (TS 24.229 §5.3.1.2): unknown user, identities that do not match,
 * barring and roaming refusals are 403 (Forbidden); busy or unreachable HSS answers are 480; anything else
 * that is not success is 500. Undefined means success (2001/2002/2004 or DIAMETER_SUCCESS).
 */
export function uaaRefusal(resultCode: number | undefined, experimental: number | undefined): Refusal | undefined {
  const clause = 'TS 24.229 §5.3.1.2';
  if (experimental !== undefined) {
    switch (experimental) {
      case X.DIAMETER_FIRST_REGISTRATION:
      case X.DIAMETER_SUBSEQUENT_REGISTRATION:
      case X.DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED:
        return undefined;
      case X.DIAMETER_ERROR_USER_UNKNOWN:
        return { status: 403, reason: 'unknown user (UAA DIAMETER_ERROR_USER_UNKNOWN)', clause };
      case X.DIAMETER_ERROR_IDENTITIES_DONT_MATCH:
        return { status: 403, reason: 'public and private identities do not match (UAA DIAMETER_ERROR_IDENTITIES_DONT_MATCH)', clause };
      case X.DIAMETER_ERROR_IDENTITY_NOT_REGISTERED:
        return { status: 403, reason: 'identity not registered (UAA DIAMETER_ERROR_IDENTITY_NOT_REGISTERED)', clause };
      case X.DIAMETER_ERROR_ROAMING_NOT_ALLOWED:
        return { status: 403, reason: 'roaming not allowed (UAA DIAMETER_ERROR_ROAMING_NOT_ALLOWED)', clause };
      default:
        return { status: 500, reason: `HSS answered Experimental-Result-Code ${experimental}`, clause };
    }
  }
  if (resultCode === ResultCode.DIAMETER_SUCCESS) return undefined;
  if (resultCode === ResultCode.DIAMETER_AUTHORIZATION_REJECTED) {
    return { status: 403, reason: 'registration barred (UAA DIAMETER_AUTHORIZATION_REJECTED)', clause };
  }
  if (resultCode === ResultCode.DIAMETER_TOO_BUSY || resultCode === ResultCode.DIAMETER_UNABLE_TO_DELIVER) {
    return { status: 480, reason: `HSS unavailable (Result-Code ${resultCode})`, clause };
  }
  return { status: 500, reason: `HSS answered Result-Code ${resultCode ?? 'none'}`, clause };
}

/**
 * The private identity when a REGISTER carries no Authorization (TS 24.229 §5.3.1.2 → TS 33.203 / TS 23.003
 * §13.3 derivation): the public identity without its scheme, `user@host`; a tel URI takes the home domain.
 */
export function derivePrivateIdentity(impu: string, homeDomain: string): string {
  let u;
  try {
    u = parseUri(impu);
  } catch {
    return impu;
  }
  if (isSipUri(u)) return u.user !== undefined ? `${u.user}@${u.host}` : u.host;
  if (u.scheme === 'tel' && 'number' in u) return `${u.number.replace(/[-.()]/g, '')}@${homeDomain}`;
  return impu;
}
