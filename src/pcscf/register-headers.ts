/**
 * The header edits the P-CSCF makes on REGISTER and its responses (TS 24.229 §5.2.2.1; TS 24.228 §6.2 flows):
 * Path and Require: path (RFC 3327 §5), P-Visited-Network-ID (RFC 7315 §4.3), P-Charging-Vector (RFC 7315 §5.6),
 * the integrity-protected auth-param (TS 24.229 §7.2A.1), and ck/ik out of the challenge (TS 33.203 §7.1).
 * Pure functions over Headers.
 */
import { formatChallenge, formatCredentials, parseChallenge, parseCredentials, type Credentials } from '../sip/headers/auth.js';
import { isToken } from '../sip/headers/lexical.js';
import { formatPChargingVector, formatPVisitedNetworkId } from '../sip/headers/p-headers.js';
import type { Headers } from '../sip/message.js';
import type { TransportProtocol } from '../sip/transport/types.js';
import type { Random } from '../util/random.js';

/**
 * The P-CSCF's Path value (RFC 3327 §4.3, contract "Addresses and names"): an IP address, never an FQDN (outside
 * handsets have no DNS for it), `lr`, and the user part `term` so that the P-CSCF knows a request routed back
 * along it as terminating (TS 24.229 §5.2.2.1 "a SIP URI identifying the P-CSCF", user part our choice).
 */
export function pathValue(address: string, port: number, transport: TransportProtocol = 'udp'): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `<sip:term@${host}:${port}${transport === 'udp' ? '' : `;transport=${transport}`};lr>`;
}

/** Adds an option tag to Require unless it is there (RFC 3327 §5: the registrar must understand Path). */
export function requireOption(headers: Headers, tag: string): void {
  const tags = headers.list('Require');
  if (tags.some((t) => t.trim().toLowerCase() === tag)) return;
  if (tags.length === 0) headers.append('Require', tag);
  else headers.set('Require', [...tags, tag].join(', '));
}

/**
 * P-Visited-Network-ID (TS 24.229 §5.2.2.1, RFC 7315 §4.3): the network the P-CSCF belongs to, for the home
 * network to check roaming agreements. A value the UE wrote is not from the trust domain and goes first.
 */
export function setVisitedNetwork(headers: Headers, network: string): void {
  headers.delete('P-Visited-Network-ID');
  headers.append('P-Visited-Network-ID', visitedNetworkValue(network));
}

/** A P-CSCF writes one network name on every REGISTER: its value is formatted once, not per request. */
let lastVisited: { network: string; value: string } | undefined;
function visitedNetworkValue(network: string): string {
  if (lastVisited?.network !== network) lastVisited = { network, value: formatPVisitedNetworkId({ network, params: new Map() }) };
  return lastVisited.value;
}

/**
 * P-Charging-Vector (TS 24.229 §5.2.2.1 and §7.2A.5, RFC 7315 §5.6): a fresh, globally unique icid-value (this
 * node's Random and its address make it unique across the run), where it was generated, and the type 1
 * orig-ioi naming the visited network. Anything the UE sent is replaced: the header never comes from outside
 * the trust domain.
 */
export function newChargingVector(random: Random, generatedAt: string, origIoi: string): string {
  const icid = random.token(32);
  // What follows the icid-value is the same on every request of a P-CSCF: formatted once. The icid is hex, so a
  // token written as it is; anything else would need quotes and takes the codec's way.
  if (!isToken(icid)) return formatPChargingVector({ icidValue: icid, icidGeneratedAt: generatedAt, origIoi, params: new Map() });
  let tail = lastVectorTail;
  if (tail?.generatedAt !== generatedAt || tail.origIoi !== origIoi) {
    const probe = formatPChargingVector({ icidValue: 'x', icidGeneratedAt: generatedAt, origIoi, params: new Map() });
    tail = lastVectorTail = { generatedAt, origIoi, text: probe.slice('icid-value=x'.length) };
  }
  return `icid-value=${icid}${tail.text}`;
}

let lastVectorTail: { generatedAt: string; origIoi: string; text: string } | undefined;

export function setChargingVector(headers: Headers, value: string): void {
  headers.delete('P-Charging-Vector');
  headers.append('P-Charging-Vector', value);
}

/**
 * integrity-protected values of TS 24.229 §7.2A.1 the P-CSCF writes: "yes"/"no" for IMS AKA with IPsec,
 * "tls-pending"/"tls-yes" for SIP digest over TLS, "ip-assoc-pending"/"ip-assoc-yes" for SIP digest without TLS.
 */
export type IntegrityProtected = 'yes' | 'no' | 'tls-pending' | 'tls-yes' | 'ip-assoc-pending' | 'ip-assoc-yes';

/** An Authorization line as the P-CSCF read it, and what it read (each line is parsed once per REGISTER). */
export interface ReadAuthorization {
  line: string;
  credentials: Credentials;
}

/** Every Authorization line of a request, parsed; throws SipParseError on an unreadable one. */
export function readAuthorizations(headers: Headers): ReadAuthorization[] {
  return headers.getAll('Authorization').map((line) => ({ line, credentials: parseCredentials(line) }));
}

const INTEGRITY_PROTECTED: ReadonlySet<string> = new Set(['integrity-protected']);

/** The credentials of `line`: those read before when the line is still the one they were read from. */
function credentialsOf(line: string, at: number, read: readonly ReadAuthorization[] | undefined): Credentials {
  const r = read?.[at];
  return r !== undefined && r.line === line ? r.credentials : parseCredentials(line);
}

/**
 * Writes integrity-protected into every Authorization of the request (TS 24.229 §5.2.2.1), replacing what the
 * UE may have put there (a UE cannot vouch for its own protection). Returns how many values were changed;
 * throws SipParseError on an unreadable Authorization. `read`: the lines as parsed before (readRegister), so
 * that they are not parsed again; a line that no longer matches is parsed anew.
 */
export function markIntegrity(headers: Headers, value: IntegrityProtected, read?: readonly ReadAuthorization[]): number {
  const lines = headers.getAll('Authorization');
  if (lines.length === 0) return 0;
  const rewritten = lines.map((line, i) => {
    const c = credentialsOf(line, i, read);
    const others = c.params.size - (c.params.has('integrity-protected') ? 1 : 0);
    // Written as a quoted-string, as the TS 24.228 §6.2 flows show it.
    const rest = formatCredentials(c, INTEGRITY_PROTECTED);
    return `${rest}${others > 0 ? ',' : ''} integrity-protected="${value}"`;
  });
  headers.delete('Authorization');
  for (const v of rewritten) headers.append('Authorization', v);
  return rewritten.length;
}

/** A removed integrity-protected (what the UE wrote) when the P-CSCF has nothing to vouch for. */
export function dropIntegrity(headers: Headers, read?: readonly ReadAuthorization[]): void {
  const lines = headers.getAll('Authorization');
  if (!lines.some((l) => l.toLowerCase().includes('integrity-protected'))) return;
  const rewritten = lines.map((line, i) => formatCredentials(credentialsOf(line, i, read), INTEGRITY_PROTECTED));
  headers.delete('Authorization');
  for (const v of rewritten) headers.append('Authorization', v);
}

/** The keys the S-CSCF sent for the P-CSCF (TS 24.229 §5.4.1.2.1), hex as written. */
export interface CipherKeys {
  ck: string;
  ik: string;
}

const CIPHER_KEY_PARAMS: ReadonlySet<string> = new Set(['ck', 'ik']);

/**
 * Takes ck and ik out of every WWW-Authenticate (TS 24.229 §5.2.2.1, TS 33.203 §7.1: the keys stay in the
 * P-CSCF for the SAs and must never reach the UE). Returns the keys of the first challenge that had both.
 * Challenges without them are left byte for byte as they were.
 */
export function takeCipherKeys(headers: Headers): CipherKeys | undefined {
  const lines = headers.getAll('WWW-Authenticate');
  if (lines.length === 0) return undefined;
  let keys: CipherKeys | undefined;
  let changed = false;
  const rewritten = lines.map((line) => {
    let c;
    try {
      c = parseChallenge(line);
    } catch {
      return line;
    }
    if (!c.params.has('ck') && !c.params.has('ik')) return line;
    if (!keys && c.ck !== undefined && c.ik !== undefined) keys = { ck: c.ck, ik: c.ik };
    changed = true;
    // The params only, not the typed fields: the rest of the challenge is written as it came.
    return formatChallenge({ scheme: c.scheme, params: c.params }, CIPHER_KEY_PARAMS);
  });
  if (changed) {
    headers.delete('WWW-Authenticate');
    for (const v of rewritten) headers.append('WWW-Authenticate', v);
  }
  return keys;
}
